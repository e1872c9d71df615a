// The chiprt CLI: pack, inspect (JSON keys; exit 2 with one line on malformed input) and churn
// (the device-memory equalities of issue 3, tmr and hbg, on both chip profiles).
#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "malformed_images.h"
#include "worker_fixture.h"

namespace chiprt::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class CliTest : public testing::Test {
 protected:
  std::string write(const std::string& name, ByteSpan bytes) {
    const fs::path path = dir_.path() / name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return "'" + path.string() + "'";
  }
  static json parse_json(const CliResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return json::parse(result.out);
  }
  static void expect_one_line_error(const CliResult& result, std::string_view names) {
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_TRUE(result.out.empty()) << result.out;
    ASSERT_FALSE(result.err.empty());
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    EXPECT_EQ(result.err.back(), '\n');
    EXPECT_NE(result.err.find(names), std::string::npos) << result.err;
  }

  ScopedTempDir dir_;
};

TEST_F(CliTest, InspectJsonDescribesThePackedExample) {
  const fs::path image_path = fs::path(CHIPRT_EXAMPLES_DIR) / "vector.chipimg";
  const Bytes image = read_file_bytes(image_path);
  const ImageView view = parse_ok(image);
  const json out = parse_json(run_cli("inspect '" + image_path.string() + "' --json"));
  EXPECT_EQ(out["version"], "1.2");
  EXPECT_EQ(out["signature"]["text"], kVectorSignature);
  EXPECT_EQ(out["signature_offset"], view.signature_offset());
  EXPECT_EQ(out["image_bytes"], image.size());
  EXPECT_EQ(out["orch_offset"], view.header_size());
  EXPECT_EQ(out["orch_bytes"], example_so("orch_vector.so").size());
  EXPECT_EQ(out["hash"], view.content_hash().hex());
  ASSERT_EQ(out["children"].size(), 3u);
  const char* kernel_files[] = {"kernel_add.so", "kernel_add_scalar.so", "kernel_mul.so"};
  for (size_t i = 0; i < 3; ++i) {
    const json& child = out["children"][i];
    EXPECT_EQ(child["func_id"], i + 1);
    EXPECT_EQ(child["core"], "aiv");
    EXPECT_EQ(child["offset"], view.children()[i].offset);
    EXPECT_EQ(child["binary_bytes"], example_so(kernel_files[i]).size());
  }
  EXPECT_EQ(out["children"][0]["name"], "kernel_add");
  EXPECT_EQ(out["children"][1]["name"], "kernel_add_scalar");
  EXPECT_EQ(out["children"][2]["name"], "kernel_mul");
  EXPECT_EQ(out["kernel_names_bytes"], 3 * 48);
  // The build's packed example is byte for byte what write_image makes, with its signature and
  // the kernel names pack gives by default.
  EXPECT_EQ(image, named_vector_image("vector"));
}

TEST_F(CliTest, PackWritesWhatWriteImageWrites) {
  const std::string out = (dir_.path() / "packed.chipimg").string();
  const CliResult packed = run_cli(
      fmt::format("pack --orch '{0}/fixture_orch_b.so' --kernel '1:aic:{0}/fixture_kernel_b.so' "
                  "--kernel '2:aiv:{0}/fixture_kernel_a.so' --name packed -o '{1}'",
                  CHIPRT_FIXTURES_DIR, out));
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
  // Each kernel named by its file's stem.
  EXPECT_EQ(read_file_bytes(out),
            make_image(fixture_so("fixture_orch_b.so"),
                       {{1, CoreType::aic, &fixture_so("fixture_kernel_b.so"), "fixture_kernel_b"},
                        {2, CoreType::aiv, &fixture_so("fixture_kernel_a.so"), "fixture_kernel_a"}},
                       "packed"));
}

// --kernel ID:CORE:FILE[:NAME]: a given name, else the stem; one kernel file may serve two
// func_ids under one name; inspect prints every name, and "func N" for an image without them.
TEST_F(CliTest, PackNamesKernelsAndInspectShowsTheNames) {
  const std::string out = (dir_.path() / "named.chipimg").string();
  const CliResult packed = run_cli(fmt::format(
      "pack --orch '{0}/fixture_orch_b.so' --kernel '1:aic:{0}/fixture_kernel_b.so:mm' "
      "--kernel '2:aiv:{0}/fixture_kernel_a.so' --kernel '7:aiv:{0}/fixture_kernel_a.so:mm' "
      "-o '{1}'",
      CHIPRT_FIXTURES_DIR, out));
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
  EXPECT_NE(packed.out.find("3 kernels (1:aic:mm, 2:aiv:fixture_kernel_a, 7:aiv:mm)"),
            std::string::npos)
      << packed.out;
  EXPECT_EQ(read_file_bytes(out),
            make_image(fixture_so("fixture_orch_b.so"),
                       {{1, CoreType::aic, &fixture_so("fixture_kernel_b.so"), "mm"},
                        {2, CoreType::aiv, &fixture_so("fixture_kernel_a.so"), "fixture_kernel_a"},
                        {7, CoreType::aiv, &fixture_so("fixture_kernel_a.so"), "mm"}}));

  const CliResult text = run_cli("inspect '" + out + "'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const uint64_t table = read_file_bytes(out).size() - 3 * 48;
  EXPECT_NE(text.out.find(fmt::format("kernel names   [{}, +144)", table)), std::string::npos)
      << text.out;
  for (const char* row : {"1   aic", "2   aiv", "7   aiv"}) {
    const size_t at = text.out.find(row);
    ASSERT_NE(at, std::string::npos) << text.out;
    const std::string line = text.out.substr(at, text.out.find('\n', at) - at);
    EXPECT_TRUE(line.ends_with(row[0] == '2' ? "  fixture_kernel_a" : "  mm")) << line;
  }
  const json inspected = parse_json(run_cli("inspect '" + out + "' --json"));
  EXPECT_EQ(inspected["children"][0]["name"], "mm");
  EXPECT_EQ(inspected["children"][1]["name"], "fixture_kernel_a");
  EXPECT_EQ(inspected["children"][2]["name"], "mm");
  EXPECT_EQ(inspected["kernel_names_bytes"], 144);

  // An image without a kernel-name table (as write_image makes without names).
  const std::string unnamed = write("unnamed.chipimg", fixture_image_b("unnamed"));
  const CliResult plain = run_cli("inspect " + unnamed);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("kernel names   none"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("  func 1\n"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("  func 2\n"), std::string::npos) << plain.out;
  const json plain_json = parse_json(run_cli("inspect " + unnamed + " --json"));
  EXPECT_EQ(plain_json["children"][1]["name"], "func 2");
  EXPECT_EQ(plain_json["kernel_names_bytes"], 0);
}

TEST_F(CliTest, PackRejectsABadKernelNameWithExitTwo) {
  const std::string pack = fmt::format("pack --orch '{0}/fixture_orch_a.so' -o '{1}' --kernel ",
                                       CHIPRT_FIXTURES_DIR, (dir_.path() / "x.chipimg").string());
  const std::string kernel = fmt::format("{}/fixture_kernel_a.so", CHIPRT_FIXTURES_DIR);
  expect_one_line_error(run_cli(pack + "'1:aiv:" + kernel + ":'"), "kernel name '' is empty");
  expect_one_line_error(run_cli(pack + "'1:aiv:" + kernel + ":a b'"),
                        "kernel name 'a b' has ' ' at byte 1");
  expect_one_line_error(run_cli(pack + "'1:aiv:" + kernel + ":" + std::string(48, 'k') + "'"),
                        "is 48 bytes; at most 47");
  EXPECT_TRUE(run_cli(pack + "'1:aiv:" + kernel + ":" + std::string(47, 'k') + "'").exit_code == 0);
  fs::remove(dir_.path() / "x.chipimg");
  // A stem that is no valid name asks for an explicit one; the spec is named either way.
  write("my kernel.so", fixture_so("fixture_kernel_a.so"));
  const std::string spaced_path = (dir_.path() / "my kernel.so").string();
  const CliResult from_stem = run_cli(pack + "'1:aiv:" + spaced_path + "'");
  expect_one_line_error(from_stem, "--kernel '1:aiv:" + spaced_path + "'");
  EXPECT_NE(from_stem.err.find("FUNC_ID:aic|aiv:PATH:NAME"), std::string::npos) << from_stem.err;
  EXPECT_FALSE(fs::exists(dir_.path() / "x.chipimg"));
  EXPECT_EQ(run_cli(pack + "'1:aiv:" + spaced_path + ":mine'").exit_code, 0);
  EXPECT_EQ(parse_ok(read_file_bytes(dir_.path() / "x.chipimg")).children()[0].name, "mine");
}

// pack refuses a part that does not export its entry, naming the file, before writing anything;
// on success it says what it wrote.
TEST_F(CliTest, PackChecksEntryPointsAndSaysWhatItWrote) {
  const std::string out = (dir_.path() / "p.chipimg").string();
  const std::string dir = CHIPRT_FIXTURES_DIR;
  const CliResult no_kernel_entry = run_cli(fmt::format(
      "pack --orch '{0}/fixture_orch_a.so' --kernel '1:aiv:{0}/fixture_no_entry.so' -o '{1}'", dir,
      out));
  expect_one_line_error(no_kernel_entry, "fixture_no_entry.so does not export chiprt_kernel_entry");
  const CliResult no_orch_entry =
      run_cli(fmt::format("pack --orch '{0}/fixture_kernel_a.so' -o '{1}'", dir, out));
  expect_one_line_error(no_orch_entry,
                        "fixture_kernel_a.so does not export chiprt_orchestration_entry");
  EXPECT_FALSE(fs::exists(out));

  const CliResult packed = run_cli(
      fmt::format("pack --orch '{0}/fixture_orch_b.so' --kernel '1:aic:{0}/fixture_kernel_b.so' "
                  "--kernel '2:aiv:{0}/fixture_kernel_a.so' -o '{1}'",
                  dir, out));
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
  const Bytes image = read_file_bytes(out);
  EXPECT_EQ(packed.out,
            fmt::format("packed {}: {} bytes, hash {}, orchestration {} bytes, 2 kernels "
                        "(1:aic:fixture_kernel_b, 2:aiv:fixture_kernel_a)\n",
                        out, image.size(), parse_ok(image).content_hash().hex(),
                        fixture_so("fixture_orch_b.so").size()));
}

TEST_F(CliTest, PackSignatureRoundTripsThroughInspectAndJson) {
  const std::string pack = fmt::format(
      "pack --orch '{0}/orch_vector.so' --kernel '1:aiv:{0}/kernel_add.so' "
      "--kernel '2:aiv:{0}/kernel_add_scalar.so' --kernel '3:aiv:{0}/kernel_mul.so' --name vector",
      CHIPRT_EXAMPLES_SO_DIR);
  const std::string text_image = (dir_.path() / "text.chipimg").string();
  const CliResult packed =
      run_cli(fmt::format("{} --signature '{}' -o '{}'", pack, kVectorSignature, text_image));
  ASSERT_EQ(packed.exit_code, 0) << packed.err;
  EXPECT_EQ(read_file_bytes(text_image), named_vector_image("vector"));

  const CliResult text = run_cli("inspect '" + text_image + "'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("signature      ["), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(kVectorSignature), std::string::npos) << text.out;

  // The signature object `inspect --json` prints is what `pack --signature FILE.json` reads.
  const json inspected = parse_json(run_cli("inspect '" + text_image + "' --json"));
  const json& signature = inspected["signature"];
  EXPECT_EQ(signature["inputs"][0],
            json({{"name", "a"}, {"dtype", "f32"}, {"rank", "*"}, {"optional", false}}));
  EXPECT_EQ(signature["scalars"][0], json({{"name", "tile"}, {"optional", true}}));
  EXPECT_EQ(signature["outputs"][0], json({{"name", "f"}, {"dtype", "f32"}, {"rank", "*"}}));
  const std::string sig_json = write("sig.json", as_bytes(signature.dump()));
  const std::string json_image = (dir_.path() / "json.chipimg").string();
  const CliResult from_json =
      run_cli(fmt::format("{} --signature {} -o '{}'", pack, sig_json, json_image));
  ASSERT_EQ(from_json.exit_code, 0) << from_json.err;
  EXPECT_EQ(read_file_bytes(json_image), read_file_bytes(text_image));

  // An unsigned image says so.
  const std::string plain = (dir_.path() / "plain.chipimg").string();
  ASSERT_EQ(run_cli(fmt::format("{} -o '{}'", pack, plain)).exit_code, 0);
  EXPECT_NE(run_cli("inspect '" + plain + "'").out.find("signature      none"), std::string::npos);
  EXPECT_TRUE(parse_json(run_cli("inspect '" + plain + "' --json"))["signature"].is_null());
}

TEST_F(CliTest, PackRejectsABadSignatureWithExitTwo) {
  const std::string pack = fmt::format("pack --orch '{}/fixture_orch_a.so' -o '{}' --signature ",
                                       CHIPRT_FIXTURES_DIR, (dir_.path() / "x.chipimg").string());
  expect_one_line_error(run_cli(pack + "'a:f32[9]'"), "a:f32[9]");
  expect_one_line_error(run_cli(pack + "'a:f32[1],a:scalar'"), "repeats the name 'a'");
  expect_one_line_error(run_cli(pack + "'a:q8[1]'"), "q8");
  expect_one_line_error(run_cli(pack + write("bad.json", as_bytes("{\"inputs\": ["))),
                        "not valid JSON");
  expect_one_line_error(
      run_cli(pack +
              write("rank.json", as_bytes(R"({"inputs": [{"name": "a", "dtype": "f32"}]})"))),
      "'a' in 'inputs' has no 'rank'");
  expect_one_line_error(run_cli(pack + write("key.json", as_bytes(R"({"input": []})"))),
                        "unknown key 'input'");
  EXPECT_FALSE(fs::exists(dir_.path() / "x.chipimg"));
}

TEST_F(CliTest, PackRejectsBadInputWithExitTwo) {
  const std::string orch = fmt::format("'{}/fixture_orch_a.so'", CHIPRT_FIXTURES_DIR);
  const std::string out = "-o '" + (dir_.path() / "x.chipimg").string() + "'";
  const std::string not_elf = write("not_elf.so", as_bytes("definitely not ELF"));
  expect_one_line_error(run_cli("pack --orch " + not_elf + " " + out), "image_bad_elf");
  expect_one_line_error(run_cli("pack --orch " + orch + " --kernel 1:gpu:x.so " + out),
                        "invalid_argument");
  expect_one_line_error(run_cli("pack --orch " + orch + " --kernel 1:aic:" + not_elf + " " + out),
                        "image_bad_elf");
  EXPECT_FALSE(fs::exists(dir_.path() / "x.chipimg"));
}

TEST_F(CliTest, InspectOfEveryMalformedImageExitsTwoWithOneLine) {
  for (const MalformedImage& malformed : malformed_images()) {
    SCOPED_TRACE(malformed.name);
    const std::string path = write(malformed.name + ".chipimg", malformed.bytes);
    expect_one_line_error(run_cli("inspect " + path + " --json"),
                          status_code_name(malformed.expected));
  }
  expect_one_line_error(run_cli("inspect '" + (dir_.path() / "missing.chipimg").string() + "'"),
                        "io_error");
}

// Directories, FIFOs and devices given as input files: one line, exit 2, never a crash or a
// hang (a FIFO with no writer must not block).
TEST_F(CliTest, InputThatIsNotARegularFileExitsTwoWithOneLine) {
  const std::string dir = "'" + dir_.path().string() + "'";
  const fs::path fifo = dir_.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string out = "-o '" + (dir_.path() / "x.chipimg").string() + "'";
  const std::string orch = fmt::format("'{}/fixture_orch_a.so'", CHIPRT_FIXTURES_DIR);
  for (const std::string& args : std::vector<std::string>{
           "inspect " + dir, "inspect .", "inspect '" + fifo.string() + "'", "inspect /dev/zero",
           "pack --orch " + dir + " " + out, "pack --orch " + orch + " --kernel 1:aiv:. " + out}) {
    SCOPED_TRACE(args);
    const CliResult result = run_cli(args, 30);
    expect_one_line_error(result, "not a regular file");
    EXPECT_EQ(result.err.rfind("chiprt: ", 0), 0u) << result.err;
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "x.chipimg"));
}

// An output path that cannot be written is bad input (exit 2), named once.
TEST_F(CliTest, UnwritableOutputPathExitsTwoAndNamesThePathOnce) {
  const std::string bad = (dir_.path() / "no-such-dir" / "x.out").string();
  for (const std::string& args : std::vector<std::string>{
           fmt::format("pack --orch '{0}/fixture_orch_a.so' -o '{1}'", CHIPRT_FIXTURES_DIR, bad),
           fmt::format("churn --callables 2 --distinct 1 --timeline '{}'", bad),
           fmt::format("churn --callables 2 --distinct 1 --plot '{}'", bad),
           fmt::format("pack --orch '{0}/fixture_orch_a.so' -o '{1}'", CHIPRT_FIXTURES_DIR,
                       dir_.path().string())}) {
    SCOPED_TRACE(args);
    const CliResult result = run_cli(args);
    expect_one_line_error(result, "cannot write");
    const std::string named = args.substr(args.rfind(" '") + 2, args.size() - args.rfind(" '") - 3);
    const size_t first = result.err.find(named);
    ASSERT_NE(first, std::string::npos) << result.err;
    EXPECT_EQ(result.err.find(named, first + 1), std::string::npos) << result.err;
  }
}

// Usage errors, CLI11's included: exactly one line starting "chiprt: ", exit 2, ranges stated.
TEST_F(CliTest, UsageErrorsAreOneChiprtLineWithExitTwo) {
  const std::pair<std::string, std::string> cases[] = {
      {"churn --callables 0", "--callables must be at least 1, got 0"},
      {"churn --callables -5", "--callables must be at least 1, got -5"},
      {"stats --callables -1", "--callables must be at least 1, got -1"},
      {"churn --callables x", "--callables must be an integer, got 'x'"},
      {"churn --distinct 0", "--distinct must be at least 1, got 0"},
      {"churn --threads 0", "--threads must be at least 1, got 0"},
      {"churn --devices 0", "--devices must be at least 1, got 0"},
      {"churn --workers 0", "--workers must be at least 1, got 0"},
      {"churn --workers -1", "--workers must be at least 1, got -1"},
      {"churn --runs-per-callable -1", "--runs-per-callable must be at least 0, got -1"},
      {"churn --duration 0", "--duration must be greater than 0, got 0"},
      {"churn --duration -1", "--duration must be greater than 0, got -1"},
      {"churn --compare-legacy", "--compare-legacy requires --plot"},
      {"churn --devices 2 --workers 4", "--workers 4"},
      {"churn --pattern sideways", "--pattern"},
      {"churn --no-such-option", "--no-such-option"},
      {"bench --iterations 0", "--iterations must be at least 1, got 0"},
      {"inspect", "image"},
      {"frobnicate", "unknown subcommand 'frobnicate'"},
      {"--frobnicate", "unknown option '--frobnicate'"},
      {"", "subcommand"},
  };
  for (const auto& [args, names] : cases) {
    SCOPED_TRACE(args);
    const CliResult result = run_cli(args, 60);  // a wrapped negative count would run for ever
    expect_one_line_error(result, names);
    EXPECT_EQ(result.err.rfind("chiprt: ", 0), 0u) << result.err;
  }
  const CliResult unknown = run_cli("frobnicate");
  for (const char* known : {"pack", "inspect", "run", "churn", "stats", "bench"}) {
    EXPECT_NE(unknown.err.find(known), std::string::npos) << known;
  }
}

// A misspelled option or subcommand is answered with the name that was probably meant.
TEST_F(CliTest, MisspelledOptionsAndSubcommandsGetASuggestion) {
  const std::pair<std::string, std::string> cases[] = {
      {"run some.chipimg --runtme hbg",
       "chiprt: unknown option '--runtme' for 'run'; did you mean '--runtime'?\n"},
      {"churn --calables 4",
       "chiprt: unknown option '--calables' for 'churn'; did you mean "
       "'--callables'?\n"},
      {"inspect x.chipimg --jsno",
       "chiprt: unknown option '--jsno' for 'inspect'; did you mean "
       "'--json'?\n"},
      {"inspect x.chipimg --zzzzzzzz",
       "chiprt: unknown option '--zzzzzzzz' for 'inspect'; see "
       "chiprt inspect --help\n"},
      {"rnu",
       "chiprt: unknown subcommand 'rnu'; did you mean 'run'? the subcommands are pack, "
       "inspect, churn, run, graph, stats, bench, config\n"},
  };
  for (const auto& [args, message] : cases) {
    SCOPED_TRACE(args);
    const CliResult result = run_cli(args);
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.err, message);
  }
}

// A file that is not an image (a text file given by mistake) is named and called what it is.
TEST_F(CliTest, ATextFileGivenAsAnImageIsNamedAsNotAChiprtImage) {
  const std::string notes = (dir_.path() / "notes.txt").string();
  std::ofstream(notes) << "hello, not an image\n";
  const CliResult result = run_cli("inspect " + notes);
  expect_one_line_error(result, "");
  EXPECT_EQ(result.err, "chiprt: image_bad_magic: " + notes +
                            ": not a chiprt image: bad magic 0x6c6c6568 (expected 0x474d4943 "
                            "\"CIMG\")\n");
}

// From a build tree, the headers a callable needs are the source tree's.
TEST_F(CliTest, ConfigPrintsTheIncludeFlagOfTheHeaders) {
  const CliResult cflags = run_cli("config --cflags");
  EXPECT_EQ(cflags.exit_code, 0) << cflags.err;
  EXPECT_EQ(cflags.out, "-I" CHIPRT_SOURCE_DIR "/include\n");
  const CliResult dir = run_cli("config --include-dir");
  EXPECT_EQ(dir.out, CHIPRT_SOURCE_DIR "/include\n");
  EXPECT_TRUE(fs::is_regular_file(fs::path(CHIPRT_SOURCE_DIR) / "include/chiprt/abi/kernel.h"));
  expect_one_line_error(run_cli("config"), "--cflags");
}

// --compare-legacy shows both sets of figures, not only in the plot: in the table and in JSON.
TEST_F(CliTest, CompareLegacyPrintsBothSetsOfFigures) {
  const std::string plot = (dir_.path() / "p.svg").string();
  const std::string churn =
      "churn --callables 20 --distinct 5 --pattern rolling --plot " + plot + " --compare-legacy";
  const CliResult text = run_cli(churn);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.find("churn: 20 registrations"), 0u) << text.out;
  EXPECT_NE(text.out.find("\nchurn: 20 registrations"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(legacy accounting: double upload, no release until finalize)"),
            std::string::npos)
      << text.out;
  const json both = parse_json(run_cli(churn + " --json"));
  EXPECT_EQ(both["accounting"], "chiprt");
  EXPECT_EQ(both["legacy"]["accounting"], "legacy");
  EXPECT_EQ(both["device"]["live_bytes_after_unregister"], 0);
  EXPECT_EQ(both["legacy"]["device"]["orch_uploads"], 5);
}

TEST_F(CliTest, VersionPrintsTheProjectVersion) {
  const CliResult result = run_cli("--version");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "chiprt " CHIPRT_VERSION "\n");
  EXPECT_TRUE(result.err.empty()) << result.err;
}

TEST_F(CliTest, StatsJsonRefcountHistogramIsAlwaysAnObject) {
  const json out = parse_json(run_cli("stats --callables 4 --distinct 2 --json"));
  for (const char* when : {"at_peak", "at_end"}) {
    SCOPED_TRACE(when);
    ASSERT_FALSE(out[when]["devices"].empty());
    for (const json& device : out[when]["devices"]) {
      ASSERT_FALSE(device["workers"].empty());
      for (const json& worker : device["workers"]) {
        EXPECT_TRUE(worker["refcount_histogram"].is_object()) << worker["refcount_histogram"];
      }
    }
  }
}

TEST_F(CliTest, StatsJsonReportsTheGraphCacheBoundsAndUse) {
  for (const char* runtime : {"tmr", "hbg"}) {
    SCOPED_TRACE(runtime);
    const json out = parse_json(
        run_cli(fmt::format("stats --callables 4 --distinct 2 --runtime {} --json", runtime)));
    const bool hbg = std::string(runtime) == "hbg";
    // Every child process's resident memory: each device's process, and on hbg each worker's
    // orchestration sandbox.
    for (const json& device : out["resident_memory"]["devices"]) {
      EXPECT_GT(device["resident_bytes"].get<uint64_t>(), 0u);
      const json& sandboxes = device["sandboxes"];
      ASSERT_EQ(sandboxes.size(), hbg ? out["at_end"]["devices"][0]["workers"].size() : 0u);
      for (const json& sandbox : sandboxes) {
        EXPECT_GT(sandbox["pid"].get<int64_t>(), 0);
        EXPECT_GT(sandbox["resident_bytes"].get<uint64_t>(), 0u);
        EXPECT_GE(sandbox["peak_resident_bytes"].get<uint64_t>(),
                  sandbox["resident_bytes"].get<uint64_t>());
      }
    }
    for (const json& device : out["at_end"]["devices"]) {
      for (const json& worker : device["workers"]) {
        const json& cache = worker["graph_cache"];
        // hbg's defaults: 16 graphs, 64 MiB; tmr caches no graphs.
        EXPECT_EQ(cache["capacity_entries"].get<uint64_t>(), hbg ? 16u : 0u);
        EXPECT_EQ(cache["capacity_bytes"].get<uint64_t>(), hbg ? 64ull << 20 : 0u);
        EXPECT_LE(cache["entries"].get<uint64_t>(), cache["capacity_entries"].get<uint64_t>());
        EXPECT_LE(cache["bytes"].get<uint64_t>(), cache["capacity_bytes"].get<uint64_t>());
        EXPECT_EQ(cache["capacity_host_bytes"].get<uint64_t>(), hbg ? 16ull << 20 : 0u);
        EXPECT_LE(cache["host_bytes"].get<uint64_t>(), cache["peak_host_bytes"].get<uint64_t>());
        EXPECT_LE(cache["peak_host_bytes"].get<uint64_t>(),
                  cache["capacity_host_bytes"].get<uint64_t>());
        EXPECT_LE(cache["peak_bytes"].get<uint64_t>(), cache["capacity_bytes"].get<uint64_t>());
        EXPECT_LE(cache["peak_entries"].get<uint64_t>(), cache["capacity_entries"].get<uint64_t>());
      }
    }
  }
}

// The device's code cache in `stats --json`: a rolling churn of two images of the same four
// objects (the vector example, tmr) looks them up 4 times per registration; the first
// registration misses all four and loads them, every later one takes them from the cache.
TEST_F(CliTest, StatsJsonReportsTheCodeCache) {
  const json out = parse_json(
      run_cli("stats --callables 20 --distinct 2 --pattern rolling --runtime tmr --json"));
  const json& cache = out["at_end"]["devices"][0]["code_cache"];
  const uint64_t objects = 4;
  EXPECT_EQ(cache["misses"], objects);
  EXPECT_EQ(cache["hits"], 19 * objects);
  EXPECT_EQ(cache["evictions"], 0);
  EXPECT_EQ(cache["entries"], objects);
  uint64_t bytes = example_so("orch_vector.so").size();
  for (const char* kernel : {"kernel_add.so", "kernel_add_scalar.so", "kernel_mul.so"}) {
    bytes += example_so(kernel).size();
  }
  EXPECT_EQ(cache["bytes"], bytes);
  EXPECT_EQ(out["at_end"]["loads"], objects);
  EXPECT_EQ(out["at_end"]["devices"][0]["live_bytes"], 0) << "the cache holds no device memory";
}

// The distinct images churn makes: the vector example named "churn-<i>".
uint64_t churn_distinct_alloc_bytes(RuntimeKind runtime, size_t distinct) {
  uint64_t sum = 0;
  for (size_t i = 0; i < distinct; ++i) {
    sum += placed_allocation(vector_image(fmt::format("churn-{}", i)), runtime);
  }
  return sum;
}

class ChurnTest : public CliTest, public testing::WithParamInterface<WorkerCase> {
 protected:
  json churn(const std::string& pattern) {
    return parse_json(run_cli(fmt::format(
        "churn --callables 500 --distinct 50 --pattern {} --runtime {} --profile {} --json",
        pattern, runtime_name(GetParam().runtime), backend_name(GetParam().backend))));
  }
};

TEST_P(ChurnTest, AllPatternKeepsOneCopyPerDistinctImageAndReturnsToBaseline) {
  const json out = churn("all");
  const json& device = out["device"];
  const uint64_t expected_alloc = churn_distinct_alloc_bytes(GetParam().runtime, 50);
  EXPECT_EQ(out["registrations"], 500);
  EXPECT_EQ(out["distinct_images"], 50);
  EXPECT_EQ(out["distinct_image_alloc_bytes"], expected_alloc);
  EXPECT_EQ(device["callable_bytes_peak"], expected_alloc);
  EXPECT_EQ(device["live_bytes_after_unregister"], device["baseline_bytes"]);
  EXPECT_EQ(device["peak_bytes"].get<uint64_t>(),
            device["baseline_bytes"].get<uint64_t>() + expected_alloc);
  EXPECT_EQ(device["callable_buffers_live_after_unregister"], 0);
  EXPECT_EQ(device["orch_uploads"], 0);
  EXPECT_EQ(out["loads"], 50 * 4);
  EXPECT_TRUE(out["elapsed_s"].is_number());
  if (GetParam().runtime == RuntimeKind::hbg) {
    const uint64_t orchestration_pages =
        churn_distinct_alloc_bytes(RuntimeKind::tmr, 50) - expected_alloc;
    EXPECT_GE(orchestration_pages, 50 * (example_so("orch_vector.so").size() / 512 * 512))
        << "hbg leaves every orchestration out of the device";
  }
}

TEST_P(ChurnTest, RollingPatternPeaksAtOneImage) {
  const json out = churn("rolling");
  const json& device = out["device"];
  EXPECT_EQ(device["callable_bytes_peak"], churn_distinct_alloc_bytes(GetParam().runtime, 1));
  EXPECT_EQ(device["live_bytes_after_unregister"], device["baseline_bytes"]);
  EXPECT_EQ(device["callable_buffers_live_after_unregister"], 0);
  // The device's code cache serves each registration of the released image after the first;
  // hbg's orchestration sandbox loads its orchestration each time.
  const bool tmr = GetParam().runtime == RuntimeKind::tmr;
  EXPECT_EQ(out["loads"], tmr ? 4 : 3 + 500);
}

// The accounting check of I12: the images churn saves are read back from disk, and the device
// figures churn reports equal the sums over those files (each one's bytes from its size and
// header fields, rounded to the 512-byte granule), not anything churn computed.
TEST_P(ChurnTest, SavedImagesAccountForEveryDeviceByteReported) {
  const fs::path saved = dir_.path() / "saved";
  const json out = parse_json(run_cli(fmt::format(
      "churn --callables 120 --distinct 12 --pattern all --runtime {} --profile {} "
      "--save-images '{}' --json",
      runtime_name(GetParam().runtime), backend_name(GetParam().backend), saved.string())));
  uint64_t uploaded = 0;
  uint64_t allocated = 0;
  size_t files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(saved)) {
    const Bytes image = read_file_bytes(entry.path());
    const uint64_t bytes = placed_bytes(image, GetParam().runtime);
    ASSERT_LE(bytes, image.size()) << entry.path();
    uploaded += bytes;
    allocated += (bytes + 511) / 512 * 512;
    ++files;
  }
  const json& device = out["device"];
  EXPECT_EQ(files, 12u);
  EXPECT_EQ(device["callable_allocations"], files);
  EXPECT_EQ(device["callable_upload_bytes"], uploaded);
  EXPECT_EQ(device["callable_bytes_peak"], allocated);
  EXPECT_EQ(device["orch_uploads"], 0);
  EXPECT_EQ(device["live_bytes_after_unregister"], device["baseline_bytes"]);
}

INSTANTIATE_TEST_SUITE_P(Chips, ChurnTest, testing::ValuesIn(sim_chip_cases()), worker_case_name);

}  // namespace
}  // namespace chiprt::test
