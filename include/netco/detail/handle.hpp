// netco/detail/handle.hpp: the one skeleton of netco's handles (net::socket, http::server ...):
// a shared pointer to their state, with Node's EventEmitter methods
#pragma once
#include <cstddef>      // size_t
#include <memory>       // shared_ptr
#include <string>       // string: event_names()
#include <string_view>  // string_view
#include <type_traits>  // remove_reference: the emitter's type
#include <utility>      // declval, forward, move
#include <vector>       // vector: event_names()

#include "netco/detail/decl.hpp"
#include "netco/events.hpp"

namespace netco::detail {

/// Throws std::logic_error: a default-constructed (empty) handle of this kind was used.
[[noreturn]] NETCO_DECL void throw_empty_handle(const char* kind);

/// A handle is a shared pointer in spirit: copying one shares the state, and every method is
/// const (a const handle reaches its state as a const shared_ptr does), so a lambda that
/// captures a handle never needs `mutable`. Derived names its kind (`static constexpr const
/// char* kind = "net::socket"`), constructs the base with its state, and reaches it with s().
/// The emitter methods go to the state, or to what Derived's own emitter() returns (declare it
/// and befriend this base when the events live elsewhere than the state).
template <class Derived, class State>
class handle {
  // Lazy in Fn: Derived is complete only once a listener is added.
  template <class Fn, class D = Derived>
  struct emitter_of {
    using type = std::remove_reference_t<decltype(std::declval<const D&>().emitter())>;
  };

 public:
  using state_type = State;

  /// The emitter's checked event name for a listener of type Fn: a string literal is checked
  /// against the listener at compile time (see basic_event_emitter::checked_name).
  template <class Fn>
  using name_for = typename emitter_of<Fn>::type::template name_for<Fn>;

  /// Node: emitter.on()
  template <class Fn>
  const Derived& on(name_for<Fn> event, Fn&& fn) const {
    em().on(event, std::forward<Fn>(fn));
    return self();
  }
  /// on() with the event named at compile time, so generic listeners work:
  /// s.on<"data">([](auto chunk) { ... }).
  template <fixed_string Event, class Fn>
  const Derived& on(Fn&& fn) const {
    em().template on<Event>(std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.once()
  template <class Fn>
  const Derived& once(name_for<Fn> event, Fn&& fn) const {
    em().once(event, std::forward<Fn>(fn));
    return self();
  }
  template <fixed_string Event, class Fn>
  const Derived& once(Fn&& fn) const {
    em().template once<Event>(std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.prependListener()
  template <class Fn>
  const Derived& prepend_listener(name_for<Fn> event, Fn&& fn) const {
    em().prepend_listener(event, std::forward<Fn>(fn));
    return self();
  }
  template <fixed_string Event, class Fn>
  const Derived& prepend_listener(Fn&& fn) const {
    em().template prepend_listener<Event>(std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.prependOnceListener()
  template <class Fn>
  const Derived& prepend_once_listener(name_for<Fn> event, Fn&& fn) const {
    em().prepend_once_listener(event, std::forward<Fn>(fn));
    return self();
  }
  template <fixed_string Event, class Fn>
  const Derived& prepend_once_listener(Fn&& fn) const {
    em().template prepend_once_listener<Event>(std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.addListener(); returns the id that off() takes.
  template <class Fn>
  listener_id add_listener(name_for<Fn> event, Fn&& fn, listener_options opts = {}) const {
    return em().add_listener(event, std::forward<Fn>(fn), opts);
  }
  template <fixed_string Event, class Fn>
  listener_id add_listener(Fn&& fn, listener_options opts = {}) const {
    return em().template add_listener<Event>(std::forward<Fn>(fn), opts);
  }
  /// Node: emitter.off()
  const Derived& off(std::string_view event, listener_id id) const {
    em().off(event, id);
    return self();
  }
  /// Node: emitter.removeListener()
  const Derived& remove_listener(std::string_view event, listener_id id) const {
    return off(event, id);
  }
  /// Node: emitter.removeAllListeners([event])
  const Derived& remove_all_listeners(std::string_view event) const {
    em().remove_all_listeners(event);
    return self();
  }
  const Derived& remove_all_listeners() const {
    em().remove_all_listeners();
    return self();
  }
  /// Node: emitter.emit()
  template <class... Args>
  bool emit(std::string_view event, Args&&... args) const {
    return em().emit(event, std::forward<Args>(args)...);
  }
  /// Node: emitter.listenerCount()
  std::size_t listener_count(std::string_view event) const { return em().listener_count(event); }
  /// Node: emitter.eventNames()
  std::vector<std::string> event_names() const { return em().event_names(); }
  /// Node: emitter.setMaxListeners()
  const Derived& set_max_listeners(std::size_t n) const {
    em().set_max_listeners(n);
    return self();
  }
  /// Node: emitter.getMaxListeners()
  std::size_t get_max_listeners() const { return em().get_max_listeners(); }

  /// False for a default-constructed handle.
  explicit operator bool() const noexcept { return static_cast<bool>(s_); }
  /// The same state: copies of one handle compare equal.
  friend bool operator==(const Derived& a, const Derived& b) noexcept { return a.s_ == b.s_; }
  /// The state behind the handle, for netco's own layers.
  const std::shared_ptr<State>& state() const noexcept { return s_; }

 protected:
  handle() = default;
  explicit handle(std::shared_ptr<State> s) noexcept : s_(std::move(s)) {}

  /// The state; throws std::logic_error for an empty handle.
  State& s() const {
    if (!s_) throw_empty_handle(Derived::kind);
    return *s_;
  }
  /// Where the events are: by default the state itself.
  State& emitter() const { return s(); }

  std::shared_ptr<State> s_;

 private:
  decltype(auto) em() const { return static_cast<const Derived&>(*this).emitter(); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

}  // namespace netco::detail

#if !defined(NETCO_SEPARATE_COMPILATION)
#include "netco/impl/handle.ipp"
#endif
