// netco/detail/emitter_handle.hpp: Node's EventEmitter methods on netco's cheap handle classes
#pragma once
#include <cstddef>      // size_t
#include <string>       // string: event_names()
#include <string_view>  // string_view
#include <utility>      // forward
#include <vector>       // vector: event_names()

#include "netco/events.hpp"

namespace netco::detail {

/// The EventEmitter methods of a handle (net::socket, http::server, dgram::socket...): each
/// forwards to the emitter in the handle's shared state and returns the handle, for chaining.
/// A handle is shared like a shared_ptr, so a const one still reaches its state: every method
/// has a const form too. Derived provides `emitter() const` (its state, which calls the
/// emitter's methods, or overrides some) and makes this base a friend.
template <class Derived>
class emitter_handle {
 public:
  /// Node: emitter.on()
  template <class Fn>
  Derived& on(std::string_view event, Fn&& fn) {
    em().on(event, std::forward<Fn>(fn));
    return self();
  }
  template <class Fn>
  const Derived& on(std::string_view event, Fn&& fn) const {
    em().on(event, std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.once()
  template <class Fn>
  Derived& once(std::string_view event, Fn&& fn) {
    em().once(event, std::forward<Fn>(fn));
    return self();
  }
  template <class Fn>
  const Derived& once(std::string_view event, Fn&& fn) const {
    em().once(event, std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.prependListener()
  template <class Fn>
  Derived& prepend_listener(std::string_view event, Fn&& fn) {
    em().prepend_listener(event, std::forward<Fn>(fn));
    return self();
  }
  template <class Fn>
  const Derived& prepend_listener(std::string_view event, Fn&& fn) const {
    em().prepend_listener(event, std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.prependOnceListener()
  template <class Fn>
  Derived& prepend_once_listener(std::string_view event, Fn&& fn) {
    em().prepend_once_listener(event, std::forward<Fn>(fn));
    return self();
  }
  template <class Fn>
  const Derived& prepend_once_listener(std::string_view event, Fn&& fn) const {
    em().prepend_once_listener(event, std::forward<Fn>(fn));
    return self();
  }
  /// Node: emitter.addListener(); returns the id that off() takes.
  template <class Fn>
  listener_id add_listener(std::string_view event, Fn&& fn, listener_options opts = {}) const {
    return em().add_listener(event, std::forward<Fn>(fn), opts);
  }
  /// Node: emitter.off()
  Derived& off(std::string_view event, listener_id id) {
    em().off(event, id);
    return self();
  }
  const Derived& off(std::string_view event, listener_id id) const {
    em().off(event, id);
    return self();
  }
  /// Node: emitter.removeListener()
  Derived& remove_listener(std::string_view event, listener_id id) { return off(event, id); }
  const Derived& remove_listener(std::string_view event, listener_id id) const {
    return off(event, id);
  }
  /// Node: emitter.removeAllListeners([event])
  Derived& remove_all_listeners(std::string_view event) {
    em().remove_all_listeners(event);
    return self();
  }
  const Derived& remove_all_listeners(std::string_view event) const {
    em().remove_all_listeners(event);
    return self();
  }
  Derived& remove_all_listeners() {
    em().remove_all_listeners();
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
  Derived& set_max_listeners(std::size_t n) {
    em().set_max_listeners(n);
    return self();
  }
  const Derived& set_max_listeners(std::size_t n) const {
    em().set_max_listeners(n);
    return self();
  }
  /// Node: emitter.getMaxListeners()
  std::size_t get_max_listeners() const { return em().get_max_listeners(); }

 private:
  decltype(auto) em() const { return static_cast<const Derived&>(*this).emitter(); }
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

}  // namespace netco::detail
