// faultline-gen: writes a synthetic model file. See generator.h.
// Exit status: 0 written, 1 runtime error (no space, I/O, file exists),
// 2 usage error; killed by SIGINT/SIGTERM/SIGHUP after removing the partial file.
#include "common/cli.h"
#include "common/interrupt.h"
#include "common/size.h"
#include "datasets/generator.h"
#include "datasets/output_file.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <cstdio>

namespace {

constexpr int kUsageError = 2;
constexpr int kRuntimeError = 1;

const char* const kDescription =
    R"(Write a synthetic model file shaped like a transformer (token embedding,
per-layer attention and FFN or MoE experts, output head) of the requested
total size, filled with seeded incompressible pseudorandom data.

The file is written to ".<name>.partial-<pid>" in the same directory, fsynced
and renamed to --out; on an error, Ctrl-C or SIGTERM the partial file is
removed. A partial file left by SIGKILL is removed by the next run for the
same --out.

Examples:
  faultline-gen --format gguf --size 1G --out /var/tmp/model-1g.gguf
  faultline-gen --format gguf --size 4G --experts 8 --arch llama --out moe.gguf
  faultline-gen --format safetensors --size 256M --layers 12 --out model.safetensors)";

}  // namespace

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app(kDescription, "faultline-gen");
  std::string format_text, size_text;
  GenOptions options;
  bool quiet = false;
  app.add_option("--format", format_text, "gguf, safetensors or raw")
      ->required()
      ->check(CLI::IsMember({"gguf", "safetensors", "raw"}));
  app.add_option("--size", size_text, "total file size: 64M, 1G, 1.5GiB, 4096B")
      ->required()
      ->check(cli::size());
  app.add_option("--layers", options.layers,
                 "transformer layers (default: 8 below 256M ... 32 from 4G)")
      ->check(CLI::PositiveNumber);
  app.add_option("--experts", options.experts, "MoE experts per layer (default: dense)")
      ->check(CLI::Range(2, 1024));
  app.add_option("--arch", options.arch,
                 "llama: metadata and tokenizer llama.cpp can load (GGUF only)")
      ->check(CLI::IsMember({"llama"}));
  app.add_option("--seed", options.seed, "seed of the pseudorandom tensor data (default 0)");
  app.add_option("--out", options.out, "output path")->required();
  app.add_flag("--force", options.force, "overwrite an existing file");
  app.add_flag("-q,--quiet", quiet, "no progress and no summary");
  cli::add_version_flag(app, "faultline-gen");

  try {
    app.parse(argc, argv);
    options.format = parse_model_format(format_text);
    options.size = parse_size(size_text, /*allow_plain_bytes=*/false);
    plan_model(options);  // usage errors (too small, --arch with safetensors) before any I/O
  } catch (const CLI::ParseError& e) {
    return cli::exit_status(app, e);  // 0 for --help and --version, else kUsageError
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "faultline-gen: {}\n", e.what());
    return kUsageError;
  }

  options.progress = !quiet;
  install_interrupt_handlers();
  try {
    const GenResult r = generate_model(options);
    if (!quiet) {
      const auto& s = r.plan.shape;
      const double mbps = static_cast<double>(r.plan.bytes) / 1e6 / r.seconds;
      if (options.format == ModelFormat::kRaw)
        fmt::print("wrote {} ({}, raw) in {:.2f} s, {:.0f} MB/s\n", r.path,
                   format_size(r.plan.bytes), r.seconds, mbps);
      else
        fmt::print(
            "wrote {} ({} bytes, {}): {} layers{}, n_embd {}, n_ff {}, n_vocab {}, "
            "in {:.2f} s, {:.0f} MB/s\n",
            r.path, r.plan.bytes, to_string(options.format), s.n_layers,
            s.n_experts ? fmt::format(" x {} experts", s.n_experts) : "", s.n_embd, s.n_ff,
            s.n_vocab, r.seconds, mbps);
    }
    return 0;
  } catch (const Interrupted& e) {
    fmt::print(stderr, "faultline-gen: {}; removed the partial file\n", e.what());
    reraise_interrupt();
    return kRuntimeError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "faultline-gen: {}\n", e.what());
    return kRuntimeError;
  }
}
