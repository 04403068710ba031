#pragma once
// Element types. float32 trains, float64 checks gradients, int64 holds indices
// and class labels.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/error.h"

namespace kiln {

enum class DType : uint8_t { float32, float64, int64 };

inline size_t dtype_size(DType dtype) {
    switch (dtype) {
        case DType::float32: return 4;
        case DType::float64: return 8;
        case DType::int64: return 8;
    }
    return 0;
}

inline const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::float32: return "float32";
        case DType::float64: return "float64";
        case DType::int64: return "int64";
    }
    return "?";
}

inline bool is_floating(DType dtype) { return dtype == DType::float32 || dtype == DType::float64; }

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::float32; }
template <> constexpr DType dtype_of<double>() { return DType::float64; }
template <> constexpr DType dtype_of<int64_t>() { return DType::int64; }

// Calls fn.template operator()<T>() with T = float or double for a floating dtype;
// any other dtype is an error that names the op.
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn) {
    switch (dtype) {
        case DType::float32: return fn.template operator()<float>();
        case DType::float64: return fn.template operator()<double>();
        default: fail(op, ": expected a float32 or float64 tensor, got ", dtype_name(dtype));
    }
}

// As dispatch_floating, and int64 too.
template <typename Fn>
decltype(auto) dispatch_all(DType dtype, Fn&& fn) {
    switch (dtype) {
        case DType::float32: return fn.template operator()<float>();
        case DType::float64: return fn.template operator()<double>();
        case DType::int64: return fn.template operator()<int64_t>();
    }
    fail("unknown dtype");
}

}  // namespace kiln
