# CTest smoke test of tapegrad_workloads (cmake -DPROGRAM=<path> -P smoke_test.cmake): tiny
# runs of a training step of each kind and a GEMM; every stdout line must parse as a JSON
# object, the rows asked for must all be there with the torch side's keys and positive times,
# the FLOP model must give torch_workloads.py's counts, and --profile must print its table.
cmake_minimum_required(VERSION 3.25)
execute_process(
  COMMAND ${PROGRAM} vae mlpgan dcgan32_logits gemm --batch 4 --iters 1 --repeats 1 --warmup 1
          --gemm-sizes 32 --threads 2 --profile
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tapegrad_workloads exited with ${rc}:\n${err}")
endif()

# GFLOP per step at batch 4, from the FLOP model by hand (rounded to 4 digits as printed):
# vae: f = 2*4*(784*400, 400*20, 400*20, 20*400, 400*784); 3*sum(f) - f[0] = 13,120,000.
# mlpgan: 9*FD - 2*fd[0] + 3*FG - fg[0] with fg = 8*(100*256, 256*512, 512*1024, 1024*784),
# fd = 8*(784*1024, 1024*512, 512*256, 256*1) = 127,567,872.
set(expect_gflop_vae 0.0131)
set(expect_gflop_mlpgan 0.1276)

string(REPLACE "\n" ";" lines "${out}")
set(seen "")
set(saw_meta OFF)
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  string(JSON type ERROR_VARIABLE json_error TYPE "${line}")
  if(json_error OR NOT type STREQUAL "OBJECT")
    message(FATAL_ERROR "not a JSON object: ${line}\n${json_error}")
  endif()
  string(JSON meta ERROR_VARIABLE no_meta GET "${line}" meta)
  if(NOT no_meta)
    set(saw_meta ON)
    continue()
  endif()
  foreach(key workload kind device threads iters repeats warmup ms_median ms_min ms_max ms_repeat_medians
              steps_per_s gflop_per_step gflops_median gflops_best peak_rss_mib peak_rss_mib_at_start)
    string(JSON value ERROR_VARIABLE missing GET "${line}" ${key})
    if(missing)
      message(FATAL_ERROR "row without '${key}': ${line}")
    endif()
  endforeach()
  string(JSON name GET "${line}" workload)
  string(JSON ms GET "${line}" ms_median)
  if(NOT ms GREATER 0)
    message(FATAL_ERROR "${name}: ms_median ${ms} is not positive")
  endif()
  if(DEFINED expect_gflop_${name})
    string(JSON gflop GET "${line}" gflop_per_step)
    if(NOT gflop EQUAL expect_gflop_${name})
      message(FATAL_ERROR "${name}: gflop_per_step ${gflop}, expected ${expect_gflop_${name}}")
    endif()
  endif()
  list(APPEND seen ${name})
endforeach()

if(NOT saw_meta)
  message(FATAL_ERROR "no meta line in:\n${out}")
endif()
if(NOT seen STREQUAL "vae;mlpgan;dcgan32_logits;sgemm_32")
  message(FATAL_ERROR "rows seen: '${seen}', expected vae;mlpgan;dcgan32_logits;sgemm_32")
endif()
foreach(label vae mlpgan dcgan32_logits sgemm_32)
  string(FIND "${err}" "profile of ${label}:" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "--profile printed no table for ${label}; stderr:\n${err}")
  endif()
endforeach()
string(FIND "${err}" "backward node" at)
if(at EQUAL -1)
  message(FATAL_ERROR "--profile table has no backward nodes; stderr:\n${err}")
endif()
message(STATUS "tapegrad_workloads: ${seen} parsed")
