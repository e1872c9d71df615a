# Fails when a discovered test's name prints a parameter as raw bytes.
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} -N WORKING_DIRECTORY ${BUILD_DIR}
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ctest -N failed (${rc})")
endif()
string(REGEX MATCHALL "Test +#[0-9]+: [^\n]*byte object <[^\n]*" raw "${listing}")
if(raw)
  list(JOIN raw "\n" lines)
  message(FATAL_ERROR "parameters printed as bytes (add a PrintTo):\n${lines}")
endif()
string(REGEX MATCHALL "Test +#[0-9]+:" all "${listing}")
list(LENGTH all count)
message(STATUS "${count} test names print their parameters by name")
