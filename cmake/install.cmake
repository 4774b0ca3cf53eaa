# install.cmake — what `cmake --install` puts under the prefix (docs/install.md):
#   bin/fmlua                           the executable
#   <libdir>/lua/5.4/fm.so              require "fm" from a stock lua5.4
#   share/lua/5.4/fm/...                the Lua modules (require "fm.cli")
#   <libdir>/libfm.a                    the engine, for C programs
#   include/fmlua/<folder>/*.h          its public headers (no *internal.h),
#                                       with the generated core/fm_version.h
#   <libdir>/pkgconfig/fmlua.pc         pkg-config --cflags --libs fmlua
install(TARGETS fmlua RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS fm_module LIBRARY DESTINATION ${FM_LUA_CMOD_INSTALL_DIR})
install(DIRECTORY scripts/fm DESTINATION ${FM_SCRIPTS_INSTALL_RELDIR})
# OFF in the rockspec: LuaRocks would deploy everything under lib/ as Lua
# C modules; a rock is fmlua, fm.so and the modules
option(FM_INSTALL_ENGINE "install libfm.a, its headers and fmlua.pc" ON)
if(NOT FM_INSTALL_ENGINE)
  return()
endif()
install(TARGETS fm_engine ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_BINARY_DIR}/include/core/fm_version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fmlua/core)
install(DIRECTORY engine/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/fmlua
        FILES_MATCHING PATTERN "*.h" PATTERN "*internal.h" EXCLUDE)

# fmlua.pc names its prefix relative to its own directory (${pcfiledir}), so
# that `cmake --install build --prefix P` gives a working file for any P.
# (An absolute libdir or includedir is written as it is.)
set(FM_PC_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${FM_PC_DIR}")
  set(FM_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH FM_PC_UP "/${FM_PC_DIR}" "/")
  string(REGEX REPLACE "/$" "" FM_PC_UP "${FM_PC_UP}")
  set(FM_PC_PREFIX "\${pcfiledir}/${FM_PC_UP}")
endif()
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(FM_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(FM_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
# libfm.a is static, so `pkg-config --libs` lists what it links against
set(FM_PC_EXTRA_LIBS "-llapacke -lgif -lm -pthread")
if(FM_OPENMP)
  string(APPEND FM_PC_EXTRA_LIBS " ${OpenMP_C_FLAGS}")
endif()
# with MPI, engine/dist/mpi*.c in libfm.a need the MPI library (docs/dist.md)
set(FM_PC_REQUIRES "openblas cairo libcjson zlib")
if(FM_MPI AND MPI_C_FOUND)
  string(APPEND FM_PC_REQUIRES " mpi-c")
endif()
configure_file(cmake/fmlua.pc.in ${CMAKE_BINARY_DIR}/fmlua.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/fmlua.pc DESTINATION ${FM_PC_DIR})
