// The strategy spec: one parser, one printer, exact round trips, and errors
// that say what is valid.
#include "benchmarks/strategy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <algorithm>

namespace faultline {
namespace {

using ::testing::HasSubstr;

std::string reprint(std::string_view s) {
  return to_string(parse_strategy(s));
}

TEST(Strategy, DesignExamplesRoundTripExactly) {
  for (const char* s : {"read",
                        "read:chunk=1M",
                        "pread:threads=4",
                        "direct:qd=32",
                        "uring:qd=8",
                        "mmap:private",
                        "mmap:shared,populate",
                        "mmap:private,advise=willneed",
                        "mmap:private,advise=random",
                        "mmap:private,advise=hugepage",
                        "mmap:private,advise=populate_read",
                        "mmap:private,fadvise=sequential",
                        "mmap:private,mlock",
                        "mmap:private,mlock=soft",
                        "mmap:shared,populate,fadvise=sequential,advise=willneed",
                        "direct:fallback=buffered",
                        "direct:qd=4,chunk=2M,fallback=buffered",
                        "pread:threads=8,chunk=256K",
                        "direct:qd=4,chunk=2M",
                        "llama.cpp",
                        "llama.cpp:no-mmap",
                        "llama.cpp:mlock",
                        "llama.cpp:numa",
                        "llama.cpp:direct",
                        "read:tensors",
                        "read:tensors=stdio",
                        "mmap:shared,copy",
                        "mmap:private,copy=repack",
                        "mmap:shared,populate,copy=repack,reclaim",
                        "mmap:shared,lazy",
                        "mmap:shared,lazy=1M",
                        "mmap:shared,populate,advise=willneed,lazy=16M,mlock=soft,copy",
                        "llama.cpp:reclaim",
                        "llama.cpp:lazy",
                        "llama.cpp:mmap+mlock",
                        "llama.cpp:dio",
                        "llama.cpp:load-mode=auto",
                        "llama.cpp:load-mode=mmap",
                        "llama.cpp:load-mode=none",
                        "llama.cpp:load-mode=mmap+mlock",
                        "llama.cpp:load-mode=dio",
                        "llama.cpp:load-mode=mlock",
                        "read:tensors=stdio,mlock=soft",
                        "read:tensors,mlock",
                        "direct:tensors",
                        "direct:tensors,fallback=buffered"})
    EXPECT_EQ(reprint(s), s);
}

TEST(Strategy, PerTensorKeysAreParsedAndPrintInSyscallOrder) {
  Strategy r = parse_strategy("read:tensors");
  EXPECT_EQ(r.tensors, TensorReads::kExact);
  EXPECT_EQ(parse_strategy("read:tensors=stdio").tensors, TensorReads::kStdio);
  Strategy m = parse_strategy("mmap:shared,reclaim,copy=repack,lazy=4G,populate");
  EXPECT_EQ(m.copy, CopyMode::kRepack);
  EXPECT_TRUE(m.reclaim);
  EXPECT_EQ(m.lazy, kLazyDefaultBytes);
  EXPECT_EQ(to_string(m), "mmap:shared,populate,lazy,copy=repack,reclaim");
  EXPECT_EQ(parse_strategy("mmap:shared,copy").copy, CopyMode::kAll);
  EXPECT_EQ(to_string(parse_strategy("mmap:shared,copy=all")), "mmap:shared,copy");
  EXPECT_EQ(parse_strategy("mmap:shared,lazy=1M").lazy, 1ull << 20);
}

TEST(Strategy, PerTensorKeysRejectWhatCannotBe) {
  auto expect_error = [](const char* spec, const char* what) {
    try {
      parse_strategy(spec);
      ADD_FAILURE() << spec << " parsed";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(what)) << spec;
    }
  };
  expect_error("read:tensors,chunk=1M", "chunk and qd do not apply");
  expect_error("read:tensors=fast", "valid: tensors, tensors=stdio");
  expect_error("pread:tensors", "unknown option");
  expect_error("mmap:shared,reclaim", "needs copy");
  expect_error("mmap:shared,copy,reclaim,mlock", "skipped under mlock");
  expect_error("mmap:shared,copy=some", "valid: copy, copy=all|repack");
  expect_error("mmap:shared,lazy=0", "lazy=0");
  expect_error("mmap:shared,copy,copy", "given twice");
  expect_error("read:copy", "unknown option");
  expect_error("read:mlock", "needs tensors");
  expect_error("direct:tensors,qd=4", "qd do not apply");
  expect_error("direct:tensors=stdio", "takes no value");
  expect_error("read:tensors,mlock=maybe", "valid: mlock, mlock=hard|soft");
}

// The load-mode names are aliases: same fields as the preset they name, and
// registered once in the default matrix.
TEST(Strategy, LoadModeNamesAreAliases) {
  auto fields = [](const char* name) {
    Strategy s = parse_strategy(name);
    s.preset.clear();
    return s;
  };
  EXPECT_EQ(fields("llama.cpp:load-mode=mmap"), fields("llama.cpp"));
  EXPECT_EQ(fields("llama.cpp:load-mode=auto"), fields("llama.cpp"));
  EXPECT_EQ(fields("llama.cpp:load-mode=none"), fields("llama.cpp:no-mmap"));
  EXPECT_EQ(fields("llama.cpp:load-mode=mmap+mlock"), fields("llama.cpp:mlock"));
  EXPECT_EQ(fields("llama.cpp:mmap+mlock"), fields("llama.cpp:mlock"));
  EXPECT_EQ(fields("llama.cpp:load-mode=dio"), fields("llama.cpp:direct"));
  EXPECT_EQ(fields("llama.cpp:dio"), fields("llama.cpp:direct"));
  auto specs = default_strategy_specs();
  for (const char* alias : {"llama.cpp:load-mode=mmap", "llama.cpp:dio", "llama.cpp:mmap+mlock"})
    EXPECT_EQ(std::count(specs.begin(), specs.end(), alias), 0) << alias;
  for (const auto& p : presets()) EXPECT_FALSE(p.validated.empty()) << p.name;
  auto v = parse_strategy_list("llama.cpp:load-mode=mmap+mlock,read:tensors,mmap:shared,copy");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(to_string(v[0]), "llama.cpp:load-mode=mmap+mlock");
  EXPECT_EQ(to_string(v[2]), "mmap:shared,copy");
}

TEST(Strategy, EveryDefaultSpecIsCanonical) {
  for (const auto& s : default_strategy_specs()) EXPECT_EQ(reprint(s), s);
}

TEST(Strategy, ParsePrintParseIsIdentity) {
  for (const auto& spec : default_strategy_specs()) {
    Strategy a = parse_strategy(spec);
    EXPECT_EQ(parse_strategy(to_string(a)), a) << spec;
  }
}

TEST(Strategy, KeysInAnyOrderPrintInSyscallOrder) {
  EXPECT_EQ(reprint("mmap:shared,mlock,advise=willneed,populate,fadvise=sequential"),
            "mmap:shared,populate,fadvise=sequential,advise=willneed,mlock");
  EXPECT_EQ(reprint("pread:chunk=1M,threads=2"), "pread:threads=2,chunk=1M");
  EXPECT_EQ(reprint("read:chunk=1048576"), "read:chunk=1M");
  EXPECT_EQ(reprint("direct:fallback=buffered,chunk=64K,qd=2"),
            "direct:qd=2,chunk=64K,fallback=buffered");
  // The default mode prints without its value.
  EXPECT_EQ(reprint("mmap:private,mlock=hard"), "mmap:private,mlock");
  // Sizes print exactly (found by fuzz_strategy: 70004K printed as "68.4M",
  // which does not parse back).
  EXPECT_EQ(reprint("read:chunk=0000000000070004k"), "read:chunk=70004K");
  EXPECT_EQ(reprint("read:chunk=1536K"), "read:chunk=1536K");
}

TEST(Strategy, FieldsAreParsed) {
  Strategy s = parse_strategy("mmap:shared,populate,fadvise=random,advise=hugepage,mlock");
  EXPECT_EQ(s.method, LoadMethod::kMmap);
  EXPECT_EQ(s.sharing, MapSharing::kShared);
  EXPECT_TRUE(s.populate);
  EXPECT_EQ(s.mlock, MlockMode::kHard);
  EXPECT_EQ(parse_strategy("mmap:private,mlock=soft").mlock, MlockMode::kSoft);
  EXPECT_FALSE(parse_strategy("mmap:private").mlock.has_value());
  EXPECT_EQ(parse_strategy("direct:fallback=buffered").fallback, DirectFallback::kBuffered);
  EXPECT_FALSE(parse_strategy("direct").fallback.has_value());
  EXPECT_EQ(s.advise, MadviseHint::kHugepage);
  EXPECT_EQ(s.fadvise, FadviseHint::kRandom);
  Strategy p = parse_strategy("pread:threads=3,chunk=64K");
  EXPECT_EQ(p.thread_count(), 3);
  EXPECT_EQ(p.chunk_bytes(), 64u * 1024);
}

TEST(Strategy, PresetsExpandToWhatLlamaCppDoes) {
  Strategy d = parse_strategy("llama.cpp");
  EXPECT_EQ(d.preset, "llama.cpp");
  EXPECT_EQ(d.sharing, MapSharing::kShared);
  EXPECT_TRUE(d.populate);
  EXPECT_EQ(d.fadvise, FadviseHint::kSequential);
  EXPECT_EQ(d.advise, MadviseHint::kWillneed);
  EXPECT_EQ(d.copy, CopyMode::kRepack) << "the tensors llama.cpp repacks on this host's CPU";
  EXPECT_EQ(parse_strategy("llama.cpp:no-mmap").tensors, TensorReads::kStdio);
  Strategy n = parse_strategy("llama.cpp:numa");
  EXPECT_FALSE(n.populate);
  EXPECT_EQ(n.advise, MadviseHint::kRandom);
  for (const auto& p : presets()) {
    EXPECT_THAT(p.description, HasSubstr("src/llama-")) << p.name << " names its source";
    EXPECT_EQ(to_string(parse_strategy(p.expansion)), p.expansion);
  }
}

// A preset is nothing but a name: its parse equals its expansion's parse in
// every field but `preset`, so the loaders (which get only the fields) cannot
// tell them apart.
TEST(Strategy, EveryPresetIsExactlyItsExpansion) {
  for (const auto& p : presets()) {
    SCOPED_TRACE(p.name);
    Strategy named = parse_strategy(p.name);
    Strategy expanded = parse_strategy(p.expansion);
    EXPECT_EQ(named.preset, p.name);
    EXPECT_TRUE(expanded.preset.empty());
    EXPECT_EQ(to_string(named), p.name) << "a row's strategy is the preset name";
    EXPECT_EQ(to_string(expanded), p.expansion) << "the expansion is canonical";
    named.preset.clear();
    EXPECT_EQ(named, expanded);
  }
  EXPECT_EQ(parse_strategy("llama.cpp:mlock").mlock, MlockMode::kSoft);
  EXPECT_EQ(parse_strategy("llama.cpp:direct").fallback, DirectFallback::kBuffered);
}

TEST(Strategy, PresetHelpListsEveryPresetWithItsExpansion) {
  const std::string help = preset_help();
  for (const auto& p : presets()) {
    EXPECT_THAT(help, HasSubstr(p.name + " = " + p.expansion + " — ")) << p.name;
    EXPECT_FALSE(p.summary.empty()) << p.name;
    EXPECT_EQ(p.summary.find('\n'), std::string::npos) << p.name;
  }
}

TEST(Strategy, WhatLoadsEverythingUpFrontIsDecidedFromTheFields) {
  for (const char* s : {"read", "pread:threads=4", "direct", "direct:qd=32,fallback=buffered",
                        "uring:qd=8", "mmap:private,populate", "mmap:shared,populate",
                        "mmap:private,advise=populate_read", "mmap:private,mlock", "llama.cpp",
                        "llama.cpp:no-mmap", "llama.cpp:mlock", "llama.cpp:direct"})
    EXPECT_TRUE(loads_everything_up_front(parse_strategy(s))) << s;
  // A soft mlock that fails leaves the mapping unpopulated: patterns can differ.
  for (const char* s :
       {"mmap:private", "mmap:shared", "mmap:private,advise=willneed", "mmap:private,advise=random",
        "mmap:private,fadvise=sequential", "mmap:private,mlock=soft", "llama.cpp:numa",
        "llama.cpp:lazy", "mmap:shared,populate,lazy", "llama.cpp:reclaim"})
    EXPECT_FALSE(loads_everything_up_front(parse_strategy(s))) << s;
}

void expect_error(std::string_view spec, const std::string& needle) {
  try {
    parse_strategy(spec);
    ADD_FAILURE() << spec << " was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr(needle)) << spec;
    EXPECT_THAT(e.what(), HasSubstr(std::string(spec))) << "the message names the spec";
  }
}

TEST(Strategy, BadSpecsAreRejectedWithTheValidChoices) {
  expect_error("mmap:private,advise=bogus", "valid: normal|sequential|random|willneed");
  expect_error("mmap:private,fadvise=hugepage", "valid: normal|sequential|random|willneed|noreuse");
  expect_error("mmap:private,frobnicate", "valid: private|shared");
  expect_error("fread", "valid: read|pread|direct|uring|mmap");
  expect_error("mmap", "mmap:private or mmap:shared");
  expect_error("mmap:populate", "must be private or shared");
  expect_error("read:threads=2", "valid: chunk=SIZE");
  expect_error("pread:threads=0", "1..4096");
  expect_error("read:chunk=1000", "multiple of 4K");
  expect_error("read:chunk=", "needs a value");
  expect_error("mmap:private,populate,populate", "given twice");
  expect_error("mmap:private,mlock,mlock=soft", "given twice");
  expect_error("mmap:private,mlock=sometimes", "valid: mlock, mlock=hard|soft");
  expect_error("direct:fallback=mmap", "valid: buffered");
  expect_error("direct:fallback", "needs a value");
  expect_error("uring:fallback=buffered", "valid: qd=N, chunk=SIZE");
  expect_error("read:fallback=buffered", "valid: chunk=SIZE");
  expect_error("llama.cpp:fast", "valid presets: llama.cpp, llama.cpp:no-mmap");
  expect_error("", "empty");
}

TEST(Strategy, ListsSplitWhereANewMethodBegins) {
  auto v =
      parse_strategy_list("read,mmap:shared,populate,advise=willneed,llama.cpp,pread:threads=2");
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(to_string(v[0]), "read");
  EXPECT_EQ(to_string(v[1]), "mmap:shared,populate,advise=willneed");
  EXPECT_EQ(to_string(v[2]), "llama.cpp");
  EXPECT_EQ(to_string(v[3]), "pread:threads=2");
  EXPECT_THROW(parse_strategy_list("read,bogus"), std::invalid_argument);
}

}  // namespace
}  // namespace faultline
