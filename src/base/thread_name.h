// Names the calling thread as `top -H`, gdb and perf show it. Linux keeps 15 characters; a
// longer name is cut, and a failure is ignored (a name is a debugging aid, never a reason to
// fail).
#pragma once

#include <pthread.h>

#include <string>

namespace chiprt {

inline void name_this_thread(std::string name) {
  if (name.size() > 15) name.resize(15);
  (void)pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace chiprt
