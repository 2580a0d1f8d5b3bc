// tg::Error and the checking macros every public function uses at its boundary.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tg {

// The one exception type tapegrad throws. Messages name the op, the offending values and
// what was expected, e.g. "add: shape mismatch: [2, 3] and [4] cannot be broadcast".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <typename... Args>
[[noreturn]] void throw_error(const char* op, const Args&... args) {
  std::ostringstream os;
  os << op << ": ";
  (os << ... << args);
  throw Error(os.str());
}
}  // namespace detail

}  // namespace tg

// TG_CHECK(cond, "op", parts...) throws tg::Error("op: parts...") when cond is false.
#define TG_CHECK(cond, op, ...)                                  \
  do {                                                           \
    if (!(cond)) ::tg::detail::throw_error(op, __VA_ARGS__);     \
  } while (0)

#define TG_ERROR(op, ...) ::tg::detail::throw_error(op, __VA_ARGS__)
