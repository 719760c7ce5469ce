#include "datasets/generator.h"

#include "common/progress.h"
#include "common/size.h"
#include "datasets/byte_sink.h"
#include "datasets/ggml_types.h"
#include "datasets/gguf.h"
#include "datasets/output_file.h"
#include "datasets/random_bytes.h"
#include "datasets/safetensors.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>

namespace faultline {
namespace {

constexpr std::uint64_t kMinVocab = 320;  // 3 special + 256 byte tokens + a few words
constexpr std::uint64_t kMaxTargetVocab = 152064;
constexpr std::uint64_t kFfStep = 64;
constexpr std::uint64_t kProgressThreshold = 256ULL << 20;
constexpr const char* kGeneratorName = "faultline-gen";

void set_heads(ModelShape& s) {
  const std::uint64_t head_dim = (s.n_embd >= 2048 && s.n_embd % 128 == 0) ? 128 : 64;
  s.n_head = s.n_embd / head_dim;
  // Grouped-query attention as in current llama models, where the heads divide.
  s.n_head_kv = (s.n_head >= 8 && s.n_head % 4 == 0) ? s.n_head / 4 : s.n_head;
}

// A minimal llama (SentencePiece) vocabulary: <unk>, <s>, </s>, the 256 byte
// fallback tokens <0x00>..<0xFF>, then filler words "▁w<i>".
void add_llama_tokenizer(GgufFile& f, std::uint64_t n_vocab) {
  constexpr std::int32_t kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6;
  std::vector<GgufValue> tokens, scores, types;
  tokens.reserve(n_vocab);
  scores.reserve(n_vocab);
  types.reserve(n_vocab);
  for (std::uint64_t i = 0; i < n_vocab; ++i) {
    std::string text;
    std::int32_t type = kNormal;
    if (i == 0) {
      text = "<unk>", type = kUnknown;
    } else if (i == 1) {
      text = "<s>", type = kControl;
    } else if (i == 2) {
      text = "</s>", type = kControl;
    } else if (i < 3 + 256) {
      text = fmt::format("<0x{:02X}>", i - 3), type = kByte;
    } else {
      text = fmt::format("\xe2\x96\x81w{}", i);  // U+2581, SentencePiece's space
    }
    tokens.push_back(GgufValue::str(std::move(text)));
    scores.push_back(GgufValue::f32(type == kNormal ? -static_cast<float>(i) : 0.0f));
    types.push_back(GgufValue::i32(type));
  }
  f.set("tokenizer.ggml.model", GgufValue::str("llama"));
  f.set("tokenizer.ggml.tokens", GgufValue::array(GgufType::kString, std::move(tokens)));
  f.set("tokenizer.ggml.scores", GgufValue::array(GgufType::kFloat32, std::move(scores)));
  f.set("tokenizer.ggml.token_type", GgufValue::array(GgufType::kInt32, std::move(types)));
  f.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(0));
  f.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  f.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
  f.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
}

// The keys llama.cpp's llama architecture requires (llama-model.cpp load_hparams,
// llama-vocab.cpp load) plus the usual optional ones.
void add_llama_metadata(GgufFile& f, const ModelShape& s) {
  const auto u32 = [](std::uint64_t v) { return GgufValue::u32(static_cast<std::uint32_t>(v)); };
  f.set("general.architecture", GgufValue::str("llama"));
  f.set("general.file_type", GgufValue::u32(1));  // LLAMA_FTYPE_MOSTLY_F16
  f.set("llama.context_length", GgufValue::u32(4096));
  f.set("llama.embedding_length", u32(s.n_embd));
  f.set("llama.block_count", u32(static_cast<std::uint64_t>(s.n_layers)));
  f.set("llama.feed_forward_length", u32(s.n_ff));
  f.set("llama.rope.dimension_count", u32(s.head_dim()));
  f.set("llama.rope.freq_base", GgufValue::f32(10000.0f));
  f.set("llama.attention.head_count", u32(s.n_head));
  f.set("llama.attention.head_count_kv", u32(s.n_head_kv));
  f.set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f));
  f.set("llama.vocab_size", u32(s.n_vocab));
  if (s.n_experts > 0) {
    f.set("llama.expert_count", u32(static_cast<std::uint64_t>(s.n_experts)));
    f.set("llama.expert_used_count", u32(static_cast<std::uint64_t>(s.n_experts_used)));
  }
  add_llama_tokenizer(f, s.n_vocab);
}

constexpr const char* kPaddingKey = "faultline.padding";

// `padding` spaces in the faultline.padding KV let the header absorb what the
// tensor shapes cannot, so the file meets the requested size to the alignment.
GgufFile gguf_description(const GenOptions& o, const ModelShape& s, std::uint64_t padding = 0) {
  GgufFile f;
  f.set("general.name", GgufValue::str(fmt::format("faultline synthetic {}-layer{}", s.n_layers,
                                                   s.n_experts ? " MoE" : "")));
  if (o.arch == "llama") add_llama_metadata(f, s);
  f.set("faultline.generator", GgufValue::str(kGeneratorName));
  f.set("faultline.seed", GgufValue::u64(o.seed));
  f.set(kPaddingKey, GgufValue::str(std::string(padding, ' ')));
  for (auto& t : gguf_tensors(s))
    f.tensors.push_back({std::move(t.name), t.dims, t.f32 ? kGgmlF32 : kGgmlF16, 0, 0});
  prepare_gguf(f);
  return f;
}

SafetensorsFile safetensors_description(const GenOptions& o, const ModelShape& s,
                                        std::uint64_t extra_padding) {
  SafetensorsFile f;
  f.metadata = {{"format", "pt"}, {"generator", kGeneratorName}, {"seed", std::to_string(o.seed)}};
  for (auto& t : hf_tensors(s)) {
    std::vector<std::uint64_t> shape(t.dims.rbegin(), t.dims.rend());
    f.tensors.push_back({std::move(t.name), t.f32 ? "F32" : "F16", std::move(shape), 0, 0});
  }
  prepare_safetensors(f, extra_padding);
  return f;
}

std::uint64_t file_size_of(const GenOptions& o, const ModelShape& s) {
  return o.format == ModelFormat::kGguf ? gguf_description(o, s).file_size
                                        : safetensors_description(o, s, 0).file_size;
}

void validate(const GenOptions& o) {
  if (o.size == 0) throw std::invalid_argument("--size must be greater than zero");
  if (o.layers < 0) throw std::invalid_argument("--layers must be positive");
  if (o.experts < 0 || o.experts == 1)
    throw std::invalid_argument("--experts must be at least 2 (or 0 for a dense model)");
  if (!o.arch.empty() && o.arch != "llama")
    throw std::invalid_argument(fmt::format("unknown --arch '{}' (known: llama)", o.arch));
  if (!o.arch.empty() && o.format != ModelFormat::kGguf)
    throw std::invalid_argument("--arch applies to --format gguf only");
  if (o.format == ModelFormat::kRaw && (o.layers > 0 || o.experts > 0))
    throw std::invalid_argument("--layers and --experts do not apply to --format raw");
}

// Largest n_vocab in [lo, ...) whose file still fits in o.size (size(lo) fits).
std::uint64_t fit_vocab(const GenOptions& o, ModelShape s, std::uint64_t lo) {
  s.n_vocab = lo;
  // Each vocab row adds at least 4 n_embd bytes (token_embd + output, F16).
  std::uint64_t hi = lo + (o.size - file_size_of(o, s)) / (4 * s.n_embd) + 1;  // does not fit
  while (hi - lo > 1) {
    s.n_vocab = lo + (hi - lo) / 2;
    (file_size_of(o, s) <= o.size ? lo : hi) = s.n_vocab;
  }
  return lo;
}

ModelShape choose_shape(const GenOptions& o) {
  ModelShape s;
  s.n_layers = o.layers > 0 ? o.layers : default_layers(o.size);
  s.n_experts = o.experts;
  s.n_experts_used = std::min(o.experts, 2);
  const std::uint64_t ffn_copies = static_cast<std::uint64_t>(std::max(o.experts, 1));
  for (s.n_embd = estimate_n_embd(o.size, s.n_layers, o.experts); s.n_embd >= 64; s.n_embd -= 64) {
    set_heads(s);
    s.n_ff = kFfStep;
    s.n_vocab = std::clamp<std::uint64_t>(o.size / 8 / (4 * s.n_embd), kMinVocab, kMaxTargetVocab);
    std::uint64_t base = file_size_of(o, s);
    if (base > o.size) {
      s.n_vocab = kMinVocab;
      base = file_size_of(o, s);
      if (base > o.size) continue;  // narrower model
    }
    // Widen the FFN with what is left, then let the vocabulary take the rest.
    const std::uint64_t per_ff =
        static_cast<std::uint64_t>(s.n_layers) * ffn_copies * 3 * s.n_embd * 2;
    s.n_ff = kFfStep + (o.size - base) / per_ff / kFfStep * kFfStep;
    while (s.n_ff > kFfStep && file_size_of(o, s) > o.size) s.n_ff -= kFfStep;
    s.n_vocab = fit_vocab(o, s, s.n_vocab);
    return s;
  }
  s.n_embd = 64;
  s.n_ff = kFfStep;
  s.n_vocab = kMinVocab;
  set_heads(s);
  throw std::invalid_argument(fmt::format(
      "--size {} is too small for a {}-layer{} model (the smallest is {}); use a larger size or "
      "fewer --layers",
      format_size(o.size), s.n_layers, o.experts ? fmt::format(" {}-expert", o.experts) : "",
      format_size(file_size_of(o, s))));
}

// Spaces to put in faultline.padding so the header ends where the file then
// has the requested size (rounded down to the alignment).
std::uint64_t gguf_padding(const GgufFile& fitted, std::uint64_t size) {
  const std::uint64_t a = fitted.alignment;
  const std::uint64_t missing = (size - fitted.file_size) / a * a;
  if (missing == 0) return 0;
  // The header (H bytes) is followed by data_offset - H bytes of alignment
  // padding; p spaces put the data start at data_offset + missing exactly.
  return fitted.data_offset + missing - gguf_header_length(fitted);
}

std::string display_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

ModelFormat parse_model_format(const std::string& text) {
  if (text == "gguf") return ModelFormat::kGguf;
  if (text == "safetensors") return ModelFormat::kSafetensors;
  if (text == "raw") return ModelFormat::kRaw;
  throw std::invalid_argument(
      fmt::format("unknown format '{}' (known: gguf, safetensors, raw)", text));
}

GenPlan plan_model(const GenOptions& o) {
  validate(o);
  GenPlan plan;
  if (o.format == ModelFormat::kRaw) {
    plan.bytes = o.size;
    return plan;
  }
  plan.shape = choose_shape(o);
  if (o.format == ModelFormat::kGguf) {
    const GgufFile fitted = gguf_description(o, plan.shape);
    plan.gguf_padding = gguf_padding(fitted, o.size);
    plan.bytes = gguf_description(o, plan.shape, plan.gguf_padding).file_size;
    plan.tolerance = fitted.alignment;
  } else {
    const std::uint64_t fitted = safetensors_description(o, plan.shape, 0).file_size;
    plan.bytes = safetensors_description(o, plan.shape, o.size - fitted).file_size;
    plan.tolerance = 8;
  }
  return plan;
}

GenResult generate_model(const GenOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  GenResult result{o.out, plan_model(o), 0};
  const std::uint64_t total = result.plan.bytes;

  OutputFile out(o.out, {.force = o.force, .expected_size = total});
  ProgressBar progress(
      display_name(o.out), total,
      {.unit = ProgressBar::Unit::kBytes, .enabled = o.progress && total > kProgressThreshold});
  out.on_progress = [&](std::uint64_t done) { progress.update(done); };
  RandomBytes random(o.seed);
  const TensorFiller fill = [&](std::size_t, std::uint64_t, std::span<std::byte> bytes) {
    random.fill(bytes);
  };

  if (o.format == ModelFormat::kGguf) {
    write_gguf(gguf_description(o, result.plan.shape, result.plan.gguf_padding), out, fill);
  } else if (o.format == ModelFormat::kSafetensors) {
    const std::uint64_t fitted = safetensors_description(o, result.plan.shape, 0).file_size;
    write_safetensors(safetensors_description(o, result.plan.shape, o.size - fitted), out, fill);
  } else {
    BlockWriter w(out);
    w.tensor_data(0, total, fill);
    w.flush();
  }
  if (out.written() != total)
    throw std::logic_error(
        fmt::format("{}: wrote {} bytes, planned {}", o.out, out.written(), total));
  out.commit();
  progress.finish();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

GenResult ensure_model(const GenOptions& o) {
  const GenPlan plan = plan_model(o);
  struct stat st {};
  if (::stat(o.out.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) == plan.bytes) {
    try {
      const ModelLayout layout = load_layout(o.out);
      if (layout.format == o.format) return {o.out, plan, 0};
    } catch (const std::exception&) {
      // unreadable: regenerate below
    }
  }
  GenOptions regenerate = o;
  regenerate.force = true;
  return generate_model(regenerate);
}

}  // namespace faultline
