// Element types and devices, and the helper that turns a runtime dtype into a C++ type.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "autograd/error.h"

namespace tg {

enum class DType : uint8_t { Float32, Float64, Int64, UInt8, Bool };
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
inline constexpr DType kDouble = DType::Float64;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kLong = DType::Int64;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kBool = DType::Bool;

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "float32", "float64", "int64", "uint8", "bool"
inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
std::ostream& operator<<(std::ostream& os, DType t);

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  constexpr Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const;  // "cpu", "cuda:0"
  friend bool operator==(const Device&, const Device&) = default;
};
inline constexpr Device kCPU{DeviceType::CPU, 0};
inline constexpr Device kCUDA{DeviceType::CUDA, 0};
std::ostream& operator<<(std::ostream& os, Device d);

// Calls f.template operator()<T>() with T the C++ type of a floating dtype:
//   dispatch_floating(t.dtype(), "exp", [&]<typename T>() { ... });
template <typename F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    default: TG_ERROR(op, "expected a float32 or float64 tensor, got ", dtype_name(t));
  }
}

// The same over every dtype.
template <typename F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::Int64: return f.template operator()<int64_t>();
    case DType::UInt8: return f.template operator()<uint8_t>();
    case DType::Bool: return f.template operator()<bool>();
  }
  TG_ERROR("dispatch", "unknown dtype");
}

}  // namespace tg
