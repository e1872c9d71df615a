// Names the calling thread as `top -H`, gdb and perf show it. Linux keeps 15 characters; a
// longer name is cut, and a failure is ignored (a name is a debugging aid, never a reason to
// fail).
#pragma once

#include <pthread.h>

#include <string>
#include <utility>

namespace chiprt {

inline void name_thread(pthread_t thread, std::string name) {
  if (name.size() > 15) name.resize(15);
  (void)pthread_setname_np(thread, name.c_str());
}
inline void name_this_thread(std::string name) {
  name_thread(pthread_self(), std::move(name));
}

}  // namespace chiprt
