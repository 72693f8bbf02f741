// netco/events.hpp: event_emitter with Node's semantics (on, once, prepend, off, emit...)
#pragma once
#include <algorithm>     // min
#include <cstddef>       // size_t
#include <cstdint>       // uint64_t
#include <cstdio>        // fprintf: the max-listeners warning, as Node prints it
#include <exception>     // exception, exception_ptr, rethrow_exception
#include <stdexcept>     // invalid_argument, runtime_error
#include <string>        // string
#include <string_view>   // string_view
#include <system_error>  // error_code, system_error
#include <tuple>         // tuple_element_t: a listener's parameter types
#include <type_traits>   // is_invocable, invoke_result, decay, remove_cvref
#include <utility>       // forward, index_sequence
#include <vector>        // vector

namespace netco {

template <class T>
class task;  // a listener returning one is spawned (see listener_impl::call_with)

/// A string usable as a template argument: the name of a built-in event.
template <std::size_t N>
struct fixed_string {
  char value[N]{};
  consteval fixed_string(const char (&s)[N]) {  // NOLINT: implicit on purpose
    for (std::size_t i = 0; i < N; ++i) value[i] = s[i];
  }
  constexpr std::string_view view() const noexcept { return {value, N - 1}; }
};

/// A built-in event of an emitter type: its Node name and the arguments listeners receive
/// (as const lvalues). A listener may take any prefix of them, as in Node.
template <fixed_string Name, class... Args>
struct event {
  static constexpr std::string_view name = Name.view();
};

/// Identifies one listener for off() / remove_listener() (C++ lambdas cannot be compared).
using listener_id = std::uint64_t;

/// Options of add_listener(): once and/or prepended, as Node's once / prependListener.
struct listener_options {
  bool once = false;
  bool prepend = false;
};

namespace detail {

template <class... T>
struct type_list {};

template <std::size_t I, class List>
struct nth_type;
template <std::size_t I, class T, class... Rest>
struct nth_type<I, type_list<T, Rest...>> : nth_type<I - 1, type_list<Rest...>> {};
template <class T, class... Rest>
struct nth_type<0, type_list<T, Rest...>> {
  using type = T;
};

// A unique address per argument-type list: the runtime signature of a listener or emit.
template <class... T>
inline constexpr char signature_tag = 0;
template <class... T>
const void* signature_of() noexcept {
  return &signature_tag<T...>;
}

// Strings emitted as literals (or char pointers) arrive as std::string_view.
template <class T>
using emit_arg_t = std::conditional_t<std::is_same_v<std::decay_t<T>, const char*> ||
                                          std::is_same_v<std::decay_t<T>, char*>,
                                      std::string_view, std::remove_cvref_t<T>>;

template <class T>
decltype(auto) as_emitted(T&& v) {
  if constexpr (std::is_same_v<emit_arg_t<T&&>, std::string_view> &&
                !std::is_same_v<std::remove_cvref_t<T>, std::string_view>) {
    return std::string_view(v);
  } else {
    return std::forward<T>(v);
  }
}

/// The parameter types of a callable with one non-template call operator (for custom events).
template <class T, class = void>
struct callable_params {
  static constexpr bool known = false;
};
template <class R, class... A>
struct callable_params<R (*)(A...), void> {
  static constexpr bool known = true;
  using type = type_list<std::remove_cvref_t<A>...>;
};
template <class R, class... A>
struct callable_params<R (*)(A...) noexcept, void> : callable_params<R (*)(A...)> {};
template <class R, class... A>
struct callable_params<R(A...), void> : callable_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_params<R (C::*)(A...), void> : callable_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_params<R (C::*)(A...) const, void> : callable_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_params<R (C::*)(A...) noexcept, void> : callable_params<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable_params<R (C::*)(A...) const noexcept, void> : callable_params<R (*)(A...)> {};
template <class T>
struct callable_params<T, std::void_t<decltype(&T::operator())>>
    : callable_params<decltype(&T::operator())> {};

/// A generic listener (a template call operator, as `[](auto x)`): its parameter types are only
/// known once instantiated, and instantiating its body for the wrong event is a hard error.
template <class T>
inline constexpr bool is_generic_listener = !callable_params<T>::known;

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

/// What a listener may take for an event argument A besides A itself: text arguments (those
/// that convert to std::string_view, such as netco::buffer) may also be taken as std::string,
/// a copy made per call (on a net::socket only after set_encoding(), as Node gives strings).
template <class A>
inline constexpr bool has_text_form = std::is_convertible_v<const A&, std::string_view> &&
                                      !std::is_convertible_v<const A&, std::string>;
template <class A>
using text_form_t = std::conditional_t<has_text_form<A>, std::string, A>;
template <class A>
decltype(auto) to_text_form(const A& a) {
  if constexpr (has_text_form<A>) {
    return std::string(std::string_view(a));
  } else {
    return (a);
  }
}

// The diagnostics: what the compiler prints in the "In instantiation of" line names the event
// and its signature, as on_event<'d', 'a', 't', 'a'>(const netco::buffer&): the static_assert
// message itself must be a literal.
template <char... C>
struct on_event {};
template <class... Signatures>
struct accepted_signatures {};
template <fixed_string Name, class Seq>
struct event_label;
template <fixed_string Name, std::size_t... I>
struct event_label<Name, std::index_sequence<I...>> {
  using type = on_event<Name.value[I]...>;
};
template <class Event>
struct event_signature;
template <fixed_string Name, class... A>
struct event_signature<event<Name, A...>> {
  using type =
      typename event_label<Name, std::make_index_sequence<Name.view().size()>>::type(const A&...);
};
template <class T>
inline constexpr bool listener_check_failed = false;
template <class Accepted, class Listener>
struct listener_fits_none_of {
  static_assert(listener_check_failed<Listener>,
                "netco: this listener fits none of the signatures in accepted_signatures<...> "
                "above (it may take any prefix of an event's arguments, by value or const&)");
  static constexpr bool value = false;
};
template <class Accepted, class Listener>
struct generic_listener_needs_event_name {
  static_assert(
      listener_check_failed<Listener>,
      "netco: a generic listener (auto parameters) needs the event name at compile "
      "time: on<\"data\">(fn); the events of this emitter are in accepted_signatures<...> "
      "above");
  static constexpr bool value = false;
};
template <class Listener>
struct custom_event_needs_typed_listener {
  static_assert(listener_check_failed<Listener>,
                "netco: a listener of a custom event needs explicit (non-template) parameter "
                "types, which emit() must pass exactly");
  static constexpr bool value = false;
};
// Called only where a literal event name fails its check during constant evaluation, which
// it stops: the compiler reports the call and shows the line with its message ({fmt}'s way).
inline void event_name_refused(const char* /*why*/) noexcept {}

/// One registered listener: refcounted because an emit in progress may still hold it after it
/// was removed. The callable lives inline, right after this header, in one allocation; what
/// all listeners of one type share sits in a static table.
struct listener_node {
  struct table {
    void (*invoke)(listener_node*, const void* const* argv);
    void (*destroy)(listener_node*) noexcept;
    const void* signature;  // the argument list it expects (a prefix is allowed)
    std::size_t arity;      // how many of the emitted arguments it takes
    bool text;              // takes its text arguments as std::string copies
  };

  std::uint32_t refs = 1;
  bool once = false;
  bool fired = false;  // a once-listener that ran already (guards nested emits)
  listener_id id = 0;
  const table* ops = nullptr;

  static void release(listener_node* n) noexcept {
    if (--n->refs == 0) n->ops->destroy(n);
  }
};

template <class Fn, class ArgList, std::size_t Arity, bool Text>
struct listener_impl;

template <class Fn, class... Args, std::size_t Arity, bool Text>
struct listener_impl<Fn, type_list<Args...>, Arity, Text> final : listener_node {
  Fn fn;

  template <class F>
  explicit listener_impl(F&& f) : fn(std::forward<F>(f)) {
    ops = &ops_table;
  }

  static void call(listener_node* n, const void* const* argv) {
    call_with(static_cast<listener_impl*>(n)->fn, argv, std::make_index_sequence<Arity>{});
  }
  template <std::size_t... I>
  static void call_with(Fn& f, const void* const* argv, std::index_sequence<I...>) {
    using types = std::tuple<Args...>;
    if constexpr (Text) {
      run(f, to_text_form(*static_cast<const std::tuple_element_t<I, types>*>(argv[I]))...);
    } else {
      run(f, *static_cast<const std::tuple_element_t<I, types>*>(argv[I])...);
    }
  }
  template <class... A>
  static void run(Fn& f, A&&... a) {
    using result = std::invoke_result_t<Fn&, A&&...>;
    if constexpr (is_task<std::remove_cvref_t<result>>::value) {
      // A coroutine listener runs detached, as create_server runs one. spawn is found by ADL
      // (netco/spawn.hpp), so events.hpp itself needs no loop.
      spawn(f(std::forward<A>(a)...));
    } else {
      static_cast<void>(f(std::forward<A>(a)...));  // other results are dropped, as in Node
    }
  }
  static void destroy(listener_node* n) noexcept { delete static_cast<listener_impl*>(n); }

  static constexpr table ops_table{&call, &destroy, &signature_tag<Args...>, Arity, Text};
};

/// The refcounted array of listeners of an event that has had more than one. Emitting pins
/// it; adding or removing while it is pinned copies it first (copy-on-write), so the running
/// emit keeps its snapshot and the common emit never allocates.
struct listener_list {
  std::size_t refs = 1;
  std::vector<listener_node*> items;
  bool warned = false;  // the max-listeners warning was printed for this event

  static void release(listener_list* l) noexcept {
    if (l && --l->refs == 0) {
      for (listener_node* n : l->items) listener_node::release(n);
      delete l;
    }
  }
};

/// The listeners of one event in one word: none, one listener (most events of most emitters),
/// or, once an event has had two, a listener_list (tagged by the low bit).
class listener_slot {
 public:
  listener_slot() = default;
  listener_slot(listener_slot&& other) noexcept : bits_(std::exchange(other.bits_, 0)) {}
  listener_slot& operator=(listener_slot&& other) noexcept {
    std::swap(bits_, other.bits_);
    return *this;
  }
  ~listener_slot() { clear(); }

  std::size_t count() const noexcept {
    if (listener_list* l = many()) return l->items.size();
    return bits_ ? 1 : 0;
  }
  listener_node* at(std::size_t i) const noexcept { return one() ? one() : many()->items[i]; }
  listener_node* one() const noexcept {
    return bits_ & 1 ? nullptr : reinterpret_cast<listener_node*>(bits_);
  }
  listener_list* many() const noexcept {
    return bits_ & 1 ? reinterpret_cast<listener_list*>(bits_ & ~std::uintptr_t(1)) : nullptr;
  }

  /// Adds node (the slot takes its reference; released if adding fails).
  void add(listener_node* node, bool prepend) {
    if (bits_ == 0) {
      bits_ = reinterpret_cast<std::uintptr_t>(node);
      return;
    }
    try {
      auto& items = writable().items;
      if (prepend)
        items.insert(items.begin(), node);
      else
        items.push_back(node);
    } catch (...) {
      listener_node::release(node);
      throw;
    }
  }
  /// Takes listener i out; the caller gets its reference.
  listener_node* remove_at(std::size_t i) {
    if (listener_node* n = one()) {
      bits_ = 0;
      return n;
    }
    auto& items = writable().items;
    listener_node* n = items[i];
    items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
    return n;
  }
  /// The max-listeners warning is due: true once per event (only lists get that long).
  bool warn_once(std::size_t max) noexcept {
    listener_list* l = many();
    if (max == 0 || !l || l->items.size() <= max || l->warned) return false;
    l->warned = true;
    return true;
  }
  void clear() noexcept {
    if (listener_list* l = many())
      listener_list::release(l);
    else if (listener_node* n = one())
      listener_node::release(n);
    bits_ = 0;
  }

 private:
  /// The list, unshared, ready to modify (made from the single listener when there is one).
  listener_list& writable() {
    listener_list* l = many();
    if (!l || l->refs > 1) {
      auto* copy = new listener_list;
      if (l) {
        copy->items = l->items;
        copy->warned = l->warned;
        for (listener_node* n : copy->items) ++n->refs;
        --l->refs;  // the emits still running hold the old one
      } else if (listener_node* n = one()) {
        try {
          copy->items.push_back(n);
        } catch (...) {
          delete copy;
          throw;
        }
      }
      bits_ = reinterpret_cast<std::uintptr_t>(copy) | 1;
      l = copy;
    }
    return *l;
  }

  std::uintptr_t bits_ = 0;
};

template <class Fn, class Tuple, class Seq>
struct invocable_prefix;
template <class Fn, class Tuple, std::size_t... I>
struct invocable_prefix<Fn, Tuple, std::index_sequence<I...>>
    : std::bool_constant<std::is_invocable_v<Fn&, const std::tuple_element_t<I, Tuple>&...>> {};

/// Largest k such that Fn is invocable with the first k of Args (as const lvalues), or -1.
/// Testing a generic lambda instantiates its body, so it is only ever tested against the one
/// event named at compile time (on<"name">).
template <class Fn, class... Args>
consteval int best_arity() {
  using types = std::tuple<Args...>;
  int best = -1;
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    ((invocable_prefix<Fn, types, std::make_index_sequence<K>>::value ? (best = int(K)) : 0), ...);
  }
  (std::make_index_sequence<sizeof...(Args) + 1>{});
  return best;
}

/// How a listener fits an event: the prefix it takes (-1: none), and whether as text copies.
struct listener_fit {
  int arity = -1;
  bool text = false;
};
template <class Fn, class... Args>
consteval listener_fit fit_of() {
  // The text form is tried only when the plain one fails: testing instantiates (see above).
  constexpr int plain = best_arity<Fn, Args...>();
  if constexpr (plain >= 0 || !(has_text_form<Args> || ...)) {
    return {plain, false};
  } else {
    constexpr int text = best_arity<Fn, text_form_t<Args>...>();
    return {text, text >= 0};
  }
}

/// Case-insensitive Levenshtein distance, for "did you mean" (event names are short).
constexpr std::size_t edit_distance(std::string_view a, std::string_view b) {
  constexpr std::size_t longest = 63;
  if (a.size() > longest || b.size() > longest) return longest;
  std::size_t row[longest + 1]{};
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const char ca = static_cast<char>(a[i - 1] | 0x20), cb = static_cast<char>(b[j - 1] | 0x20);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (ca == cb ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <class T>
[[noreturn]] void throw_unhandled_error(const T& e) {
  if constexpr (std::is_same_v<T, std::error_code>) {
    throw std::system_error(e, "Unhandled 'error' event");
  } else if constexpr (std::is_same_v<T, std::exception_ptr>) {
    std::rethrow_exception(e);
  } else if constexpr (std::is_base_of_v<std::exception, T>) {
    throw e;
  } else {
    throw std::runtime_error("Unhandled 'error' event [ERR_UNHANDLED_ERROR]");
  }
}

inline listener_id next_listener_id() noexcept {
  thread_local listener_id next = 0;
  return ++next;
}

}  // namespace detail

/// Where the max-listeners warning goes; default: stderr, worded as Node's.
using max_listeners_warning_fn = void (*)(std::string_view event, std::size_t count);
inline max_listeners_warning_fn& max_listeners_warning_handler() noexcept {
  static max_listeners_warning_fn handler = [](std::string_view event, std::size_t count) {
    std::fprintf(stderr,
                 "(netco) MaxListenersExceededWarning: Possible EventEmitter memory leak "
                 "detected. %zu %.*s listeners added. Use set_max_listeners() to increase limit\n",
                 count, static_cast<int>(event.size()), event.data());
  };
  return handler;
}

/// An EventEmitter with Node's rules: listeners run synchronously in registration order; an
/// emit works on the listeners present when it started (adding or removing during it changes
/// the next emit only); a once-listener is removed before it runs; emitting "error" with no
/// listener throws the error. Events... are the built-in events with their signatures; a
/// listener may take any prefix of an event's arguments, a text argument also as std::string,
/// and may be a coroutine (netco::task, spawned). on<"name">(fn) checks fn against that event
/// at compile time, generic lambdas included; on("literal", fn) checks a typed fn at compile
/// time, on(runtime_name, fn) when it runs (std::invalid_argument). Other names are custom
/// events, whose listeners need explicit parameter types that emit() must pass exactly (string
/// literals arrive as std::string_view). Loop thread only; emitting never allocates (but for
/// the copy a std::string listener asks for).
template <class... Events>
class basic_event_emitter {
  using all_events = detail::type_list<event<"newListener", std::string_view>,
                                       event<"removeListener", std::string_view>, Events...>;
  static constexpr std::size_t builtin_count = sizeof...(Events) + 2;

 public:
  /// Node: EventEmitter.defaultMaxListeners
  static inline std::size_t default_max_listeners = 10;

  basic_event_emitter() = default;
  basic_event_emitter(const basic_event_emitter&) = delete;
  basic_event_emitter& operator=(const basic_event_emitter&) = delete;
  virtual ~basic_event_emitter() { clear_all(); }

  /// An event name for on(name, fn), checked against the listener type F: a string literal at
  /// compile time (a listener that cannot take the event's arguments, or a name within two
  /// typos of a built-in one, does not compile), any other string when on() runs.
  template <class F>
  class checked_name {
   public:
    template <std::size_t N>
    consteval checked_name(const char (&name)[N]) noexcept  // NOLINT: implicit on purpose
        : name_(name, N - 1) {
      check_literal<F>(name_);
    }
    template <class S>
    requires(std::is_convertible_v<const S&, std::string_view> && !std::is_array_v<S>)
        checked_name(const S& name)
    noexcept  // NOLINT: implicit on purpose
        : name_(name) {}
    constexpr std::string_view view() const noexcept { return name_; }

   private:
    std::string_view name_;
  };
  /// The name parameter of on(name, fn) for a listener of type Fn.
  template <class Fn>
  using name_for = checked_name<std::decay_t<Fn>>;

  /// Adds a listener at the end (or the front, or once) and returns its id for off(). A
  /// misfit found at run time throws std::invalid_argument; a generic listener (auto
  /// parameters) needs the compile-time form, add_listener<"name">(fn). Node: emitter.addListener()
  template <class Fn>
  listener_id add_listener(name_for<Fn> name, Fn&& fn, listener_options opts = {}) {
    using F = std::decay_t<Fn>;
    if constexpr (detail::is_generic_listener<F>) {
      static_cast<void>(sizeof(detail::generic_listener_needs_event_name<signatures, F>));
      return 0;
    } else {
      return add_node(name.view(), make_node<F>(name.view(), std::forward<Fn>(fn)), opts);
    }
  }
  /// The same with the event named at compile time: the listener, generic or not, is checked
  /// against that event alone (a static_assert names the event's signature).
  template <fixed_string Name, class Fn>
  listener_id add_listener(Fn&& fn, listener_options opts = {}) {
    using F = std::decay_t<Fn>;
    constexpr std::size_t b = builtin_index(Name.view());
    if constexpr (b == npos) {
      static_assert(near_builtin(Name.view()).empty(),
                    "netco: this event name is within two typos of a built-in event of the "
                    "emitter: use the built-in name, or another name for a custom event");
      if constexpr (detail::is_generic_listener<F>) {
        static_cast<void>(sizeof(detail::custom_event_needs_typed_listener<F>));
        return 0;
      } else {
        return add_listener(std::string_view(Name.view()), std::forward<Fn>(fn), opts);
      }
    } else {
      using E = typename detail::nth_type<b, all_events>::type;
      constexpr detail::listener_fit fit = fit_for<F>(event_args<E>{});
      if constexpr (fit.arity < 0) {
        static_cast<void>(
            sizeof(detail::listener_fits_none_of<
                   detail::accepted_signatures<typename detail::event_signature<E>::type>, F>));
        return 0;
      } else {
        return add_node(
            Name.view(),
            new detail::listener_impl<F, event_args<E>, static_cast<std::size_t>(fit.arity),
                                      fit.text>(std::forward<Fn>(fn)),
            opts);
      }
    }
  }

  /// Node: emitter.on()
  template <class Fn>
  basic_event_emitter& on(name_for<Fn> name, Fn&& fn) {
    add_listener(name, std::forward<Fn>(fn));
    return *this;
  }
  /// on() with the event named at compile time: e.on<"data">([](auto chunk) { ... }).
  template <fixed_string Name, class Fn>
  basic_event_emitter& on(Fn&& fn) {
    add_listener<Name>(std::forward<Fn>(fn));
    return *this;
  }
  /// Node: emitter.once()
  template <class Fn>
  basic_event_emitter& once(name_for<Fn> name, Fn&& fn) {
    add_listener(name, std::forward<Fn>(fn), {.once = true});
    return *this;
  }
  template <fixed_string Name, class Fn>
  basic_event_emitter& once(Fn&& fn) {
    add_listener<Name>(std::forward<Fn>(fn), {.once = true});
    return *this;
  }
  /// Node: emitter.prependListener()
  template <class Fn>
  basic_event_emitter& prepend_listener(name_for<Fn> name, Fn&& fn) {
    add_listener(name, std::forward<Fn>(fn), {.prepend = true});
    return *this;
  }
  template <fixed_string Name, class Fn>
  basic_event_emitter& prepend_listener(Fn&& fn) {
    add_listener<Name>(std::forward<Fn>(fn), {.prepend = true});
    return *this;
  }
  /// Node: emitter.prependOnceListener()
  template <class Fn>
  basic_event_emitter& prepend_once_listener(name_for<Fn> name, Fn&& fn) {
    add_listener(name, std::forward<Fn>(fn), {.once = true, .prepend = true});
    return *this;
  }
  template <fixed_string Name, class Fn>
  basic_event_emitter& prepend_once_listener(Fn&& fn) {
    add_listener<Name>(std::forward<Fn>(fn), {.once = true, .prepend = true});
    return *this;
  }

  /// Removes one listener; an emit in progress still calls it. Returns whether it was found.
  /// Node: emitter.off() / emitter.removeListener()
  bool off(std::string_view name, listener_id id) {
    detail::listener_slot* slot = find_slot(name);
    if (!slot) return false;
    for (std::size_t i = slot->count(); i-- > 0;) {  // Node removes the most recent match
      if (slot->at(i)->id != id) continue;
      detail::listener_node::release(slot->remove_at(i));
      emit_remove_listener(name);
      return true;
    }
    return false;
  }
  bool remove_listener(std::string_view name, listener_id id) { return off(name, id); }

  /// Removes every listener of name. Node: emitter.removeAllListeners(name)
  basic_event_emitter& remove_all_listeners(std::string_view name) {
    detail::listener_slot* slot = find_slot(name);
    if (!slot) return *this;
    while (const std::size_t n = slot->count()) {  // last first, each announced, as Node does
      detail::listener_node::release(slot->remove_at(n - 1));
      emit_remove_listener(name);
    }
    return *this;
  }
  /// Removes every listener of every event. Node: emitter.removeAllListeners()
  basic_event_emitter& remove_all_listeners() {
    for (std::size_t i = 2; i < builtin_count; ++i) remove_all_listeners(builtin_name(i));
    for (std::size_t i = 0; i < custom_.size(); ++i) {
      const std::string name = custom_[i].name;  // a removeListener listener may add events
      remove_all_listeners(name);
    }
    remove_all_listeners("newListener");
    remove_all_listeners("removeListener");
    return *this;
  }

  /// Calls every listener of name with args, in order. Returns whether there were any; an
  /// "error" without listeners throws (a std::error_code as std::system_error).
  /// Node: emitter.emit()
  template <class... Args>
  bool emit(std::string_view name, Args&&... args) {
    const std::size_t b = builtin_index(name);
    if (b != npos) {
      return emit_checked(builtins_[b], name, detail::as_emitted(std::forward<Args>(args))...);
    }
    detail::listener_slot* slot = find_custom(name);
    if (name == "error" && (!slot || slot->count() == 0)) unhandled_error(args...);
    if (!slot) return false;
    return emit_checked(*slot, name, detail::as_emitted(std::forward<Args>(args))...);
  }

  /// Node: emitter.listenerCount()
  std::size_t listener_count(std::string_view name) const {
    const detail::listener_slot* slot = const_cast<basic_event_emitter*>(this)->find_slot(name);
    return slot ? slot->count() : 0;
  }
  /// The events that have listeners. Node: emitter.eventNames()
  std::vector<std::string> event_names() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < builtin_count; ++i) {
      if (builtins_[i].count()) out.emplace_back(builtin_name(i));
    }
    for (const auto& c : custom_) {
      if (c.slot.count()) out.push_back(c.name);
    }
    return out;
  }
  /// 0 means unlimited. Node: emitter.setMaxListeners()
  basic_event_emitter& set_max_listeners(std::size_t n) noexcept {
    max_listeners_ = n;
    return *this;
  }
  /// Node: emitter.getMaxListeners()
  std::size_t get_max_listeners() const noexcept { return max_listeners_; }

 protected:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// The index of a built-in event, at compile time (for the owner's fast emits).
  template <fixed_string Name>
  static consteval std::size_t index_of() {
    std::size_t i = 0, found = npos;
    [&]<class... E>(detail::type_list<E...>) {
      ((E::name == Name.view() ? (found = i, ++i) : ++i), ...);
    }(all_events{});
    if (found == npos) throw "netco: not a built-in event of this emitter";
    return found;
  }

  /// Emits built-in event Name with exactly its declared argument types: no name lookup.
  template <fixed_string Name, class... Args>
  bool emit_event(const Args&... args) {
    constexpr std::size_t i = index_of<Name>();
    static_assert(std::is_same_v<event_args<typename detail::nth_type<i, all_events>::type>,
                                 detail::type_list<Args...>>,
                  "netco: emit_event() must pass exactly the event's declared argument types");
    detail::listener_slot& slot = builtins_[i];
    if (slot.count() == 0) {
      if constexpr (Name.view() == "error") unhandled_error(args...);
      return false;
    }
    const void* argv[sizeof...(Args) + 1] = {static_cast<const void*>(&args)...};
    run_listeners(slot, name_at<i>(), argv);
    return true;
  }
  template <fixed_string Name>
  std::size_t count_of() const noexcept {
    return builtins_[index_of<Name>()].count();
  }

  /// Whether a listener of Name takes its text as std::string copies (a net::socket allows
  /// that only after set_encoding()). Walks the listeners: for rare checks, not per emit.
  template <fixed_string Name>
  bool has_text_listener() const noexcept {
    const detail::listener_slot& slot = builtins_[index_of<Name>()];
    for (std::size_t i = 0, n = slot.count(); i < n; ++i) {
      if (slot.at(i)->ops->text) return true;
    }
    return false;
  }

  /// Called after a listener was added (for sockets: a "data" listener starts reading).
  virtual void listener_added(std::string_view /*name*/) {}

  /// Drops every listener without announcing it (after "close": breaks handle cycles).
  void clear_all() noexcept {
    for (auto& s : builtins_) s.clear();
    for (auto& c : custom_) c.slot.clear();
    custom_.clear();
  }

 private:
  struct custom_event {
    std::string name;
    detail::listener_slot slot;
  };

  template <std::size_t I>
  static constexpr std::string_view name_at() {
    return builtin_name(I);
  }
  static constexpr std::string_view builtin_name(std::size_t i) {
    std::string_view out;
    std::size_t k = 0;
    [&]<class... E>(detail::type_list<E...>) {
      ((k++ == i ? (out = E::name, 0) : 0), ...);
    }(all_events{});
    return out;
  }
  static constexpr std::size_t builtin_index(std::string_view name) noexcept {
    std::size_t i = 0, found = npos;
    [&]<class... E>(detail::type_list<E...>) {
      ((found == npos && E::name == name ? (found = i, ++i) : ++i), ...);
    }(all_events{});
    return found;
  }
  /// The built-in name that name is a likely typo of, or "".
  static constexpr std::string_view near_builtin(std::string_view name) noexcept {
    for (std::size_t i = 2; i < builtin_count; ++i) {
      const std::string_view known = builtin_name(i);
      if (detail::edit_distance(name, known) <= (known.size() > 4 ? 2u : 1u)) return known;
    }
    return {};
  }

  template <class E>
  struct event_args_of;
  template <fixed_string N, class... A>
  struct event_args_of<event<N, A...>> {
    using type = detail::type_list<A...>;
  };
  template <class E>
  using event_args = typename event_args_of<E>::type;
  template <class List>
  struct signatures_of;
  template <class... E>
  struct signatures_of<detail::type_list<E...>> {
    using type = detail::accepted_signatures<typename detail::event_signature<E>::type...>;
  };
  using signatures = typename signatures_of<all_events>::type;

  template <class F, class... A>
  static consteval detail::listener_fit fit_for(detail::type_list<A...>) {
    return detail::fit_of<F, A...>();
  }
  /// Whether F can listen to built-in event b (F is not generic: this instantiates no body).
  template <class F>
  static consteval bool fits_builtin(std::size_t b) {
    bool ok = false;
    std::size_t i = 0;
    [&]<class... E>(detail::type_list<E...>) {
      ((i++ == b ? (ok = fit_for<F>(event_args<E>{}).arity >= 0) : false), ...);
    }(all_events{});
    return ok;
  }
  template <class F>
  static consteval void check_literal(std::string_view name) {
    if constexpr (!detail::is_generic_listener<F>) {  // generic: add_listener refuses it
      const std::size_t b = builtin_index(name);
      if (b != npos) {
        // The event<> list in the emitter's type, printed above, gives the signatures.
        if (!fits_builtin<F>(b)) detail::event_name_refused("netco: listener does not fit event");
      } else if (!near_builtin(name).empty()) {
        detail::event_name_refused("netco: unknown event, within two typos of a built-in one");
      }
    }
  }

  template <class F, class Fn, class... A>
  static detail::listener_node* make_for(detail::type_list<A...>, Fn&& fn) {
    constexpr detail::listener_fit fit = detail::fit_of<F, A...>();
    if constexpr (fit.arity < 0) {
      return nullptr;
    } else {
      return new detail::listener_impl<F, detail::type_list<A...>,
                                       static_cast<std::size_t>(fit.arity), fit.text>(
          std::forward<Fn>(fn));
    }
  }

  template <class F, class Fn>
  static detail::listener_node* make_node(std::string_view name, Fn&& fn) {
    const std::size_t b = builtin_index(name);
    if (b != npos) {
      detail::listener_node* node = nullptr;
      std::size_t i = 0;
      [&]<class... E>(detail::type_list<E...>) {
        ((i++ == b ? (node = make_for<F>(event_args<E>{}, std::forward<Fn>(fn)), 0) : 0), ...);
      }(all_events{});
      if (!node) {
        throw std::invalid_argument("netco: the listener's parameters do not fit event \"" +
                                    std::string(name) +
                                    "\" (see that event's arguments in its emitter's docs)");
      }
      return node;
    }
    if (const std::string_view known = near_builtin(name); !known.empty()) {
      throw std::invalid_argument("netco: unknown event \"" + std::string(name) +
                                  "\"; did you mean \"" + std::string(known) + "\"?");
    }
    return make_for<F>(typename detail::callable_params<F>::type{}, std::forward<Fn>(fn));
  }

  listener_id add_node(std::string_view name, detail::listener_node* node, listener_options opts) {
    node->once = opts.once;
    node->id = detail::next_listener_id();
    insert(name, node, opts.prepend);
    return node->id;
  }

  detail::listener_slot* find_custom(std::string_view name) noexcept {
    for (auto& c : custom_) {
      if (c.name == name) return &c.slot;
    }
    return nullptr;
  }
  detail::listener_slot* find_slot(std::string_view name) noexcept {
    const std::size_t b = builtin_index(name);
    return b != npos ? &builtins_[b] : find_custom(name);
  }

  void insert(std::string_view name, detail::listener_node* node, bool prepend) {
    detail::listener_slot* slot = nullptr;
    try {
      // Node announces a new listener before adding it.
      if (builtins_[0].count() > 0) {
        const std::string_view arg = name;
        const void* argv[1] = {&arg};
        run_listeners(builtins_[0], "newListener", argv);
      }
      slot = find_slot(name);
      if (!slot) {
        custom_.push_back({std::string(name), {}});
        slot = &custom_.back().slot;
      }
    } catch (...) {  // a throwing "newListener" listener, or no memory: the node is ours
      detail::listener_node::release(node);
      throw;
    }
    slot->add(node, prepend);  // releases the node itself if it throws
    if (slot->warn_once(max_listeners_)) max_listeners_warning_handler()(name, slot->count());
    listener_added(name);
  }

  void emit_remove_listener(std::string_view name) {
    if (builtins_[1].count() == 0) return;
    const std::string_view arg = name;
    const void* argv[1] = {&arg};
    run_listeners(builtins_[1], "removeListener", argv);
  }

  template <class... Args>
  bool emit_checked(detail::listener_slot& slot, std::string_view name, const Args&... args) {
    if (slot.count() == 0) {
      if (name == "error") unhandled_error(args...);
      return false;
    }
    const void* signature = detail::signature_of<detail::emit_arg_t<const Args&>...>();
    for (std::size_t i = 0, n = slot.count(); i < n; ++i) {
      const detail::listener_node::table* ops = slot.at(i)->ops;
      if (ops->signature != signature && ops->arity > 0) {
        throw std::invalid_argument("netco: emit(\"" + std::string(name) +
                                    "\") passes arguments of other types than its listeners take");
      }
    }
    const void* argv[sizeof...(Args) + 1] = {static_cast<const void*>(&args)...};
    run_listeners(slot, name, argv);
    return true;
  }

  /// The snapshot rule: pin the current list, call each of its listeners, unpin.
  void run_listeners(detail::listener_slot& slot, std::string_view name, const void* const* argv) {
    if (detail::listener_node* one = slot.one()) {
      ++one->refs;
      struct unpin {
        detail::listener_node* n;
        ~unpin() { detail::listener_node::release(n); }
      } guard{one};
      run_one(one, name, argv);
      return;
    }
    detail::listener_list* list = slot.many();
    ++list->refs;
    struct unpin {
      detail::listener_list* l;
      ~unpin() { detail::listener_list::release(l); }
    } guard{list};
    const std::size_t n = list->items.size();
    for (std::size_t i = 0; i < n; ++i) run_one(list->items[i], name, argv);
  }
  void run_one(detail::listener_node* node, std::string_view name, const void* const* argv) {
    if (node->once) {
      if (node->fired) return;
      node->fired = true;
      off(name, node->id);  // removed before it runs, as Node's once wrapper does
    }
    node->ops->invoke(node, argv);
  }

  template <class... Args>
  [[noreturn]] static void unhandled_error(const Args&... args) {
    if constexpr (sizeof...(Args) == 0) {
      throw std::runtime_error("Unhandled 'error' event [ERR_UNHANDLED_ERROR]");
    } else {
      detail::throw_unhandled_error(std::get<0>(std::tie(args...)));
    }
  }

  detail::listener_slot builtins_[builtin_count];
  std::vector<custom_event> custom_;
  std::size_t max_listeners_ = default_max_listeners;
};

/// A plain emitter for a user's own events (Node: new EventEmitter()).
using event_emitter = basic_event_emitter<>;

}  // namespace netco
