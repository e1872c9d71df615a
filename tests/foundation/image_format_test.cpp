// The image format (include/chiprt/abi/image_format.h): the writer's layout, the content hash,
// and the validated view, which rejects every malformed class with its own code (I9).
#include <fmt/format.h>

#include <xxhash.h>

#include "malformed_images.h"
#include "support/image_bytes.h"
#include "test_support.h"

namespace chiprt::test {
namespace {

Bytes slice(ByteSpan bytes) {
  return {bytes.begin(), bytes.end()};
}

TEST(ImageWriterTest, LaysOutHeaderOrchestrationAndAlignedKernels) {
  const Bytes image = vector_image("layout");
  const chiprt_image_header_t header = read_header(image);
  EXPECT_EQ(header.magic, CHIPRT_IMAGE_MAGIC);
  EXPECT_EQ(std::memcmp(image.data(), "CIMG", 4), 0);
  EXPECT_EQ(header.version_major, CHIPRT_IMAGE_VERSION_MAJOR);
  EXPECT_EQ(header.version_minor, CHIPRT_IMAGE_VERSION_MINOR);
  EXPECT_EQ(header.child_count, 3u);
  EXPECT_EQ(header.header_size, 256u);  // align_up(128 + 3 * 32, 64)
  EXPECT_EQ(header.orch_offset, header.header_size);
  EXPECT_EQ(header.total_size, image.size());

  const ImageView view = parse_ok(image);
  EXPECT_EQ(view.name(), "layout");
  EXPECT_EQ(slice(view.orchestration()), example_so("orch_vector.so"));
  const char* kernel_files[] = {"kernel_add.so", "kernel_add_scalar.so", "kernel_mul.so"};
  uint64_t previous_end = header.orch_offset + header.orch_size;
  for (uint32_t i = 0; i < 3; ++i) {
    const ImageChild& child = view.children()[i];
    EXPECT_EQ(child.func_id, i + 1);
    EXPECT_EQ(child.core, CoreType::aiv);
    EXPECT_EQ(child.offset, align_up(previous_end, CHIPRT_IMAGE_ALIGN));
    EXPECT_EQ(slice(view.child_bytes(child)), example_so(kernel_files[i]));
    EXPECT_EQ(read_child(image, i).resolved_device_addr, 0u);
    previous_end = child.offset + child.size;
  }
  EXPECT_EQ(previous_end, image.size());
  EXPECT_EQ(view.kernels_begin(), view.children()[0].offset);
}

TEST(ImageWriterTest, ContentHashIsCanonicalXxh3Of24ToEnd) {
  const Bytes image = vector_image("hash");
  Bytes restamped = image;
  std::memset(restamped.data() + 8, 0, 16);
  restamp_content_hash(restamped);
  EXPECT_EQ(restamped, image);

  const XXH128_hash_t expected = XXH3_128bits(image.data() + 24, image.size() - 24);
  const ImageHash hash = parse_ok(image).content_hash();
  EXPECT_EQ(hash.high, expected.high64);
  EXPECT_EQ(hash.low, expected.low64);
  EXPECT_EQ(hash_bytes(ByteSpan(image).subspan(24)), hash);
  EXPECT_EQ(hash.hex(), fmt::format("{:016x}{:016x}", expected.high64, expected.low64));
  EXPECT_EQ(std::to_integer<uint8_t>(image[8]), expected.high64 >> 56) << "big-endian, high first";
}

TEST(ImageWriterTest, KeepsKernelsInTheGivenOrder) {
  const Bytes image = make_image(fixture_so("fixture_orch_a.so"),
                                 {{9, CoreType::aiv, &fixture_so("fixture_kernel_b.so")},
                                  {4, CoreType::aic, &fixture_so("fixture_kernel_a.so")}});
  const ImageView view = parse_ok(image);
  ASSERT_EQ(view.children().size(), 2u);
  EXPECT_EQ(view.children()[0].func_id, 9u);
  EXPECT_EQ(view.children()[1].func_id, 4u);
  EXPECT_EQ(view.children()[1].core, CoreType::aic);
  EXPECT_LT(view.children()[0].offset, view.children()[1].offset);
}

TEST(ImageWriterTest, ZeroKernelsIsValid) {
  const Bytes image = make_image(fixture_so("fixture_orch_a.so"), {});
  const ImageView view = parse_ok(image);
  EXPECT_TRUE(view.children().empty());
  EXPECT_EQ(view.header_size(), 128u);
  EXPECT_EQ(view.kernels_begin(), view.size());
  EXPECT_EQ(view.size(), 128u + fixture_so("fixture_orch_a.so").size());
  EXPECT_EQ(callable_device_bytes(view, RuntimeKind::tmr), view.size());
  EXPECT_EQ(callable_device_bytes(view, RuntimeKind::hbg), 128u);
}

TEST(ImageWriterTest, RejectsWhatNoImageCanHold) {
  const Bytes& orch = fixture_so("fixture_orch_a.so");
  const Bytes& kernel = fixture_so("fixture_kernel_a.so");
  const Bytes empty;
  auto code = [](const ImageSource& source) { return write_image(source).status().code(); };
  EXPECT_EQ(code({empty, {}, ""}), StatusCode::invalid_argument);
  EXPECT_EQ(code({orch, {{1, CoreType::aic, empty}}, ""}), StatusCode::invalid_argument);
  EXPECT_EQ(code({orch, {{1, CoreType::aic, kernel}, {1, CoreType::aiv, kernel}}, ""}),
            StatusCode::invalid_argument);
  EXPECT_EQ(code({orch, {}, std::string(CHIPRT_IMAGE_NAME_BYTES, 'n')}),
            StatusCode::invalid_argument);
  EXPECT_TRUE(write_image({orch, {}, std::string(CHIPRT_IMAGE_NAME_BYTES - 1, 'n')}).ok());
}

TEST(ImageViewTest, AcceptsANewerMinorVersion) {
  Bytes image = vector_image();
  edit_header(image,
              [](chiprt_image_header_t& h) { h.version_minor = CHIPRT_IMAGE_VERSION_MINOR + 7; });
  const ImageView view = parse_ok(image);
  EXPECT_EQ(view.version_minor(), CHIPRT_IMAGE_VERSION_MINOR + 7);
}

TEST(ImageViewTest, ReadsAVersionOneZeroImage) {
  Bytes image = vector_image("one-zero");
  edit_header(image, [](chiprt_image_header_t& h) { h.version_minor = 0; });
  const ImageView view = parse_ok(image);  // the version is not hashed: no re-stamp needed
  EXPECT_EQ(view.version_major(), 1u);
  EXPECT_EQ(view.version_minor(), 0u);
  EXPECT_TRUE(view.signature().empty());
  EXPECT_EQ(view.signature_offset(), 0u);
  EXPECT_EQ(view.signature_size(), 0u);
}

TEST(ImageWriterTest, WritesVersionOneTwoWithoutOptionalSections) {
  const Bytes image = vector_image("unsigned");
  const chiprt_image_header_t header = read_header(image);
  EXPECT_EQ(header.version_minor, 2u);
  EXPECT_EQ(header.signature_offset, 0u);
  EXPECT_EQ(header.signature_size, 0u);
  EXPECT_EQ(header.kernel_names_size, 0u);
  const ImageView view = parse_ok(image);
  EXPECT_TRUE(view.signature().empty());
  EXPECT_EQ(view.kernel_names_size(), 0u);
  ASSERT_EQ(view.children().size(), 3u);
  EXPECT_EQ(view.children()[0].name, "func 1");
  EXPECT_EQ(view.children()[2].name, "func 3");
}

TEST(ImageWriterTest, PutsTheKernelNamesLastAndTheViewReadsThemBack) {
  const Bytes signed_image = signed_vector_image("names");
  const Bytes image = named_vector_image("names");
  const chiprt_image_header_t header = read_header(image);
  EXPECT_EQ(header.version_minor, 2u);
  EXPECT_EQ(header.kernel_names_size, 3u * 48u);
  EXPECT_EQ(header.total_size, align_up(signed_image.size(), 64) + 3 * 48);
  EXPECT_EQ(image.size(), header.total_size);
  // Entry i names child i: NUL-terminated, NUL-padded, 48 bytes each.
  const char* names[] = {"kernel_add", "kernel_add_scalar", "kernel_mul"};
  for (size_t i = 0; i < 3; ++i) {
    char expected[48] = {};
    std::memcpy(expected, names[i], std::strlen(names[i]));
    EXPECT_EQ(std::memcmp(image.data() + (image.size() - 144) + i * 48, expected, 48), 0) << i;
  }
  const ImageView view = parse_ok(image);
  EXPECT_EQ(view.kernel_names_size(), 144u);
  ASSERT_EQ(view.children().size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(view.children()[i].name, names[i]);
  EXPECT_EQ(view.signature(), *parse_signature(kVectorSignature));
  // Host metadata: the device copy stops at the last kernel, as without names.
  EXPECT_EQ(view.code_end(), parse_ok(signed_image).code_end());
  // Everything before the table is the signed image's, but for the header and its hash.
  EXPECT_TRUE(std::equal(image.begin() + sizeof header, image.begin() + signed_image.size(),
                         signed_image.begin() + sizeof header));
  EXPECT_NE(view.content_hash(), parse_ok(signed_image).content_hash());
}

TEST(ImageWriterTest, KernelNamesNeedNotBeUnique) {
  const Bytes& kernel = fixture_so("fixture_kernel_a.so");
  const ImageView view =
      parse_ok(make_image(fixture_so("fixture_orch_a.so"), {{4, CoreType::aic, &kernel, "same"},
                                                            {9, CoreType::aiv, &kernel, "same"}}));
  EXPECT_EQ(view.children()[0].name, "same");
  EXPECT_EQ(view.children()[1].name, "same");
}

TEST(ImageWriterTest, RejectsAnInvalidKernelName) {
  const Bytes& orch = fixture_so("fixture_orch_a.so");
  const Bytes& kernel = fixture_so("fixture_kernel_a.so");
  auto status = [&](std::string first, std::string second) {
    return write_image({orch,
                        {{1, CoreType::aic, kernel, std::move(first)},
                         {2, CoreType::aiv, kernel, std::move(second)}},
                        ""})
        .status();
  };
  for (const std::string& bad :
       {std::string(48, 'n'), std::string("a b"), std::string("a:b"), std::string("a/b"),
        std::string("x\0y", 3), std::string("\xc3\xa9")}) {
    const Status s = status("ok", bad);
    EXPECT_EQ(s.code(), StatusCode::invalid_argument) << bad;
    EXPECT_NE(s.message().find("kernel func_id 2"), std::string_view::npos) << s.to_string();
  }
  // Named and unnamed kernels together: name all or none.
  const Status mixed = status("ok", "");
  EXPECT_EQ(mixed.code(), StatusCode::invalid_argument);
  EXPECT_NE(mixed.message().find("name all or none"), std::string_view::npos) << mixed.to_string();
  EXPECT_TRUE(status(std::string(47, 'n'), "A-z_0.9+").ok());
}

TEST(KernelNameTest, DefaultsAndStems) {
  EXPECT_EQ(default_kernel_name(7), "func 7");
  EXPECT_FALSE(kernel_name_defect(default_kernel_name(7)).empty()) << "no stored name is func N";
  EXPECT_EQ(*kernel_name_from_path("k.so"), "k");
  EXPECT_EQ(*kernel_name_from_path("build/lib/libfoo.so"), "libfoo");
  EXPECT_EQ(*kernel_name_from_path("a.b.so"), "a.b");
  EXPECT_EQ(*kernel_name_from_path("noext"), "noext");
  EXPECT_EQ(kernel_name_from_path("dir/my kernel.so").status().code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(kernel_name_from_path("dir/").status().code(), StatusCode::invalid_argument);
  EXPECT_EQ(kernel_name_from_path(std::string(48, 'k') + ".so").status().code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(*kernel_name_from_path(std::string(47, 'k') + ".so"), std::string(47, 'k'));
}

TEST(ImageViewTest, ReadsAVersionOneOneImageWithFuncNNames) {
  const Bytes image = version_1_1_vector_image("old");
  const ImageView view = parse_ok(image);
  EXPECT_EQ(view.version_minor(), 1u);
  EXPECT_EQ(view.name(), "old");
  EXPECT_EQ(view.kernel_names_size(), 0u);
  ASSERT_EQ(view.children().size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(view.children()[i].func_id, i + 1);
    EXPECT_EQ(view.children()[i].name, fmt::format("func {}", i + 1));
  }
  // The same parts written today differ only in the header's version and hash.
  Bytes today = vector_image("old");
  edit_header(today, [](chiprt_image_header_t& h) { h.version_minor = 1; });
  restamp_content_hash(today);
  EXPECT_EQ(today, image);
}

TEST(ImageWriterTest, PutsTheSignatureLastAndTheViewReadsItBack) {
  const Bytes unsigned_image = vector_image("sig");
  const Bytes image = signed_vector_image("sig");
  const chiprt_image_header_t header = read_header(image);
  EXPECT_EQ(header.signature_offset, align_up(unsigned_image.size(), CHIPRT_IMAGE_ALIGN));
  EXPECT_EQ(header.signature_size, 4 * sizeof(chiprt_image_signature_entry_t));
  EXPECT_EQ(header.total_size, header.signature_offset + header.signature_size);
  const ImageView view = parse_ok(image);
  ASSERT_EQ(view.signature().size(), 4u);
  EXPECT_EQ(view.signature(), *parse_signature(kVectorSignature));
  EXPECT_EQ(format_signature(view.signature()), kVectorSignature);
  const SignatureEntry& tile = view.signature()[2];
  EXPECT_EQ(tile.kind, SignatureKind::scalar);
  EXPECT_EQ(tile.name, "tile");
  EXPECT_TRUE(tile.optional);
  chiprt_image_signature_entry_t raw;
  std::memcpy(&raw, image.data() + header.signature_offset, sizeof raw);
  EXPECT_EQ(raw.kind, uint32_t{CHIPRT_SIGNATURE_INPUT});
  EXPECT_EQ(raw.dtype, uint32_t{CHIPRT_DTYPE_F32});
  EXPECT_EQ(raw.flags, CHIPRT_SIGNATURE_ANY_RANK);
  EXPECT_STREQ(raw.name, "a");
  // Everything before the signature is the unsigned image's, but for the header and its hash.
  EXPECT_TRUE(std::equal(image.begin() + sizeof header, image.begin() + unsigned_image.size(),
                         unsigned_image.begin() + sizeof header));
  EXPECT_NE(view.content_hash(), parse_ok(unsigned_image).content_hash());
}

TEST(ImageWriterTest, RejectsAnInvalidSignature) {
  const Bytes& orch = fixture_so("fixture_orch_a.so");
  auto code = [&](Signature signature) {
    return write_image({orch, {}, "", std::move(signature)}).status().code();
  };
  using K = SignatureKind;
  EXPECT_EQ(code({{K::input, "a", CHIPRT_DTYPE_F32, 1}, {K::scalar, "a"}}),
            StatusCode::invalid_argument);
  EXPECT_EQ(code({{K::input, "a", CHIPRT_DTYPE_F32, CHIPRT_MAX_DIMS + 1}}),
            StatusCode::invalid_argument);
  EXPECT_EQ(code({{K::input, "a", 77, 1}}), StatusCode::invalid_argument);
  EXPECT_EQ(code({{K::input, "", CHIPRT_DTYPE_F32, 1}}), StatusCode::invalid_argument);
  EXPECT_EQ(code({{K::input, std::string(CHIPRT_IMAGE_SIGNATURE_NAME_BYTES, 'n'), 0, 1}}),
            StatusCode::invalid_argument);
  EXPECT_EQ(code({{K::scalar, "s", CHIPRT_DTYPE_I32}}), StatusCode::invalid_argument);
  EXPECT_EQ(code({{K::output, "o", CHIPRT_DTYPE_F32, 1, false, true}}),
            StatusCode::invalid_argument);
  EXPECT_EQ(code(Signature(CHIPRT_IMAGE_MAX_SIGNATURE_ENTRIES + 1)), StatusCode::invalid_argument);
  EXPECT_TRUE(write_image({orch,
                           {},
                           "",
                           {{K::input, std::string(CHIPRT_IMAGE_SIGNATURE_NAME_BYTES - 1, 'n'),
                             CHIPRT_DTYPE_U8, CHIPRT_MAX_DIMS}}})
                  .ok());
}

TEST(SignatureTextTest, ParsesAndFormatsTheCliForm) {
  auto parsed = parse_signature(" a:f32[2], b:i64[0] ,tile?:scalar->f:f16[4], g:u8[*] ");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->size(), 5u);
  EXPECT_EQ((*parsed)[1], (SignatureEntry{SignatureKind::input, "b", CHIPRT_DTYPE_I64, 0}));
  EXPECT_EQ((*parsed)[2], (SignatureEntry{SignatureKind::scalar, "tile", 0, 0, false, true}));
  EXPECT_EQ((*parsed)[4], (SignatureEntry{SignatureKind::output, "g", CHIPRT_DTYPE_U8, 0, true}));
  EXPECT_EQ(format_signature(*parsed), "a:f32[2],b:i64[0],tile?:scalar -> f:f16[4],g:u8[*]");
  EXPECT_EQ(*parse_signature(format_signature(*parsed)), *parsed);
  EXPECT_EQ(format_signature(*parse_signature("-> out:f32[1]")), "-> out:f32[1]");
  EXPECT_EQ(format_signature(*parse_signature("x:f32[1]")), "x:f32[1]");
}

TEST(SignatureTextTest, RejectsMalformedText) {
  for (const char* text :
       {"", "  ", "a", "a:f32", "a:f32[5]", "a:f99[1]", "a:f32[x]", "a:f32[1],,b:f32[1]",
        "a:f32[1] -> b:f32[1] -> c:f32[1]", "-> s:scalar", "-> o?:f32[1]", "a:f32[1],a:scalar",
        ":f32[1]", "a b:f32[1]", "a:f32[12]"}) {
    auto parsed = parse_signature(text);
    EXPECT_FALSE(parsed.ok()) << "'" << text << "' parsed";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::invalid_argument);
      EXPECT_EQ(parsed.status().message().find('\n'), std::string_view::npos);
    }
  }
}

TEST(ImageViewTest, SkipsTheHashOnlyWhenAsked) {
  Bytes image = vector_image();
  image[offsetof(chiprt_image_header_t, content_hash)] ^= std::byte{0xff};
  EXPECT_EQ(ImageView::parse(image).status().code(), StatusCode::image_hash_mismatch);
  EXPECT_TRUE(ImageView::parse(image, /*verify_hash=*/false).ok());
}

TEST(ImageViewTest, NeverWritesItsInput) {
  const Bytes image = vector_image();
  const ReadOnlyCopy read_only(image);
  EXPECT_TRUE(ImageView::parse(read_only.bytes()).ok());
}

class MalformedImageTest : public testing::TestWithParam<MalformedImage> {};

TEST_P(MalformedImageTest, IsRejectedWithItsCodeWithoutWritingIt) {
  const ReadOnlyCopy read_only(GetParam().bytes);
  const Result<ImageView> view = ImageView::parse(read_only.bytes());
  ASSERT_FALSE(view.ok());
  EXPECT_EQ(view.status().code(), GetParam().expected) << view.status().to_string();
  EXPECT_FALSE(view.status().message().empty());
  EXPECT_EQ(view.status().message().find('\n'), std::string_view::npos);
  for (const std::string& word : GetParam().mentions) {
    EXPECT_NE(view.status().message().find(word), std::string_view::npos)
        << view.status().to_string() << " does not mention " << word;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryClass, MalformedImageTest, testing::ValuesIn(malformed_images()),
                         malformed_image_name);

}  // namespace
}  // namespace chiprt::test
