// One JSON object built key by key and printed on one line, keys in insertion order: the rows
// tapegrad_workloads and peak_fma print, laid out as bench/torch_workloads.py prints its own.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace workloads {

class JsonRow {
 public:
  // Setting a key that is already there replaces its value in place (Python's dict.update).
  JsonRow& set(const std::string& key, const std::string& value) { return put(key, quote(value)); }
  JsonRow& set(const std::string& key, const char* value) { return put(key, quote(value)); }
  JsonRow& set(const std::string& key, bool value) { return put(key, value ? "true" : "false"); }
  JsonRow& set(const std::string& key, int value) { return put(key, std::to_string(value)); }
  JsonRow& set(const std::string& key, int64_t value) { return put(key, std::to_string(value)); }
  JsonRow& set(const std::string& key, double value) { return put(key, number(value)); }
  JsonRow& set(const std::string& key, const std::vector<double>& values) {
    std::string s = "[";
    for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + number(values[i]);
    return put(key, s + "]");
  }
  JsonRow& set(const std::string& key, const JsonRow& object) { return put(key, object.str()); }
  // Every field of `other`, as Python's row.update(other).
  JsonRow& update(const JsonRow& other) {
    for (const auto& [k, v] : other.fields_) put(k, v);
    return *this;
  }

  std::string str() const {
    std::string s = "{";
    for (size_t i = 0; i < fields_.size(); ++i)
      s += (i ? ", " : "") + quote(fields_[i].first) + ": " + fields_[i].second;
    return s + "}";
  }

 private:
  JsonRow& put(const std::string& key, std::string encoded) {
    for (auto& [k, v] : fields_)
      if (k == key) {
        v = std::move(encoded);
        return *this;
      }
    fields_.emplace_back(key, std::move(encoded));
    return *this;
  }
  // Shortest decimal form that reads back as the same double; JSON has no NaN or infinity.
  static std::string number(double value) {
    if (!std::isfinite(value)) return "null";
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, end);
  }
  static std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", c);
        out += esc;
      } else {
        out += c;
      }
    }
    return out + "\"";
  }

  std::vector<std::pair<std::string, std::string>> fields_;  // key, encoded value
};

// Python's round(x, digits) for the figures the rows carry.
inline double round_to(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

}  // namespace workloads
