# Fails when a public header includes xsimd, CUDA or a backend's private header.
foreach(h ${HEADERS})
  file(STRINGS ${ROOT}/${h} _includes REGEX "^#include")
  foreach(line ${_includes})
    # backends/cpu/cpu.h is the cpu backend's public controls (ISA, threads, GEMM, allocator).
    if(line MATCHES "xsimd|cuda|backends/(reference|cpu|cuda)/" AND NOT line MATCHES "backends/cpu/cpu\\.h")
      message(FATAL_ERROR "${h} exposes a private dependency: ${line}")
    endif()
  endforeach()
endforeach()
message(STATUS "checked ${HEADERS}")
