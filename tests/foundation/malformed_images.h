// Every class of malformed image, each made by editing a valid image (the vector example) and
// re-stamping the content hash where the edit would otherwise trip the hash check first, with
// the StatusCode the validated view must return for it.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "chiprt/bytes.h"
#include "chiprt/status.h"

namespace chiprt::test {

struct MalformedImage {
  std::string name;  // a valid gtest name
  StatusCode expected;
  Bytes bytes;
  std::vector<std::string> mentions;  // words the one-line message must contain
};

std::vector<MalformedImage> malformed_images();
// gtest parameter name of a MalformedImage, and how gtest prints one (by name).
std::string malformed_image_name(const testing::TestParamInfo<MalformedImage>& info);
void PrintTo(const MalformedImage& image, std::ostream* os);

}  // namespace chiprt::test
