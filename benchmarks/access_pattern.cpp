#include "benchmarks/access_pattern.h"

#include "benchmarks/replay.h"
#include "common/split_list.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <set>
#include <stdexcept>

namespace faultline {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr const char* kValid =
    "none, first-layer, forward, sequential, random:N, moe:K/N, replay:FILE[,gaps=on]";

[[noreturn]] void fail(std::string_view spec, const std::string& why) {
  throw std::invalid_argument(fmt::format("invalid access pattern '{}': {}", spec, why));
}

template <typename T>
T parse_number(std::string_view spec, std::string_view v) {
  T out{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out <= 0)
    fail(spec, fmt::format("'{}' is not a positive integer", v));
  return out;
}

bool is_embedding(const Tensor& t) {
  return t.layer < 0 &&
         (t.name.find("embd") != std::string::npos || t.name.find("embed") != std::string::npos);
}

void add_tensor(std::vector<Range>& out, const Tensor& t) {
  if (t.bytes) out.push_back({t.offset, t.bytes});
}

}  // namespace

AccessPattern parse_pattern(std::string_view spec) {
  AccessPattern p;
  if (spec == "none") return p;
  if (spec == "first-layer") return {PatternKind::kFirstLayer};
  if (spec == "forward") return {PatternKind::kForward};
  if (spec == "sequential") return {PatternKind::kSequential};
  if (spec.starts_with("random:")) {
    p.kind = PatternKind::kRandom;
    p.random_pages = parse_number<std::uint64_t>(spec, spec.substr(7));
    return p;
  }
  if (spec.starts_with("moe:")) {
    auto body = spec.substr(4);
    auto slash = body.find('/');
    if (slash == std::string_view::npos) fail(spec, "expected moe:K/N (K of N experts per layer)");
    p.kind = PatternKind::kMoe;
    p.moe_k = parse_number<int>(spec, body.substr(0, slash));
    p.moe_n = parse_number<int>(spec, body.substr(slash + 1));
    if (p.moe_k > p.moe_n) fail(spec, "K must not exceed N");
    return p;
  }
  if (spec.starts_with("replay:")) {
    p.kind = PatternKind::kReplay;
    auto items = split_list(spec.substr(7));
    p.replay_file = std::string(items.front());
    if (p.replay_file.empty())
      fail(spec, "expected replay:FILE (a recording, recording/README.md)");
    for (std::size_t i = 1; i < items.size(); ++i) {
      if (items[i] == "gaps=on")
        p.replay_gaps = true;
      else if (items[i] == "gaps=off")
        p.replay_gaps = false;
      else
        fail(spec, fmt::format("unknown replay option '{}'; valid: gaps=on, gaps=off", items[i]));
    }
    return p;
  }
  fail(spec, fmt::format("unknown pattern; valid: {}", kValid));
}

std::string to_string(const AccessPattern& p) {
  switch (p.kind) {
    case PatternKind::kNone:
      return "none";
    case PatternKind::kFirstLayer:
      return "first-layer";
    case PatternKind::kForward:
      return "forward";
    case PatternKind::kSequential:
      return "sequential";
    case PatternKind::kRandom:
      return fmt::format("random:{}", p.random_pages);
    case PatternKind::kMoe:
      return fmt::format("moe:{}/{}", p.moe_k, p.moe_n);
    case PatternKind::kReplay:
      return "replay:" + p.replay_file + (p.replay_gaps ? ",gaps=on" : "");
  }
  return "?";
}

std::vector<AccessPattern> parse_pattern_list(std::string_view list) {
  std::vector<std::string> specs;
  for (auto item : split_list(list)) {
    if (item.starts_with("gaps=") && !specs.empty() && specs.back().starts_with("replay:"))
      specs.back() += "," + std::string(item);
    else
      specs.emplace_back(item);
  }
  std::vector<AccessPattern> out;
  for (const auto& s : specs) out.push_back(parse_pattern(s));
  return out;
}

std::vector<Range> plan_ranges(const AccessPattern& p, const ModelLayout& layout,
                               std::uint64_t seed) {
  std::vector<Range> out;
  const auto& ts = layout.tensors;
  switch (p.kind) {
    case PatternKind::kNone:
      break;
    case PatternKind::kSequential:
      out.push_back({0, layout.file_size});
      break;
    case PatternKind::kFirstLayer: {
      int first = -1;
      for (const auto& t : ts)
        if (t.layer >= 0 && (first < 0 || t.layer < first)) first = t.layer;
      if (first < 0) {
        if (!ts.empty()) add_tensor(out, ts.front());  // no layers (raw): the first tensor
        break;
      }
      for (const auto& t : ts)
        if (t.layer == first) add_tensor(out, t);
      break;
    }
    case PatternKind::kForward: {
      // embeddings, then layers in order, then everything else (norms, output head)
      std::vector<const Tensor*> order;
      for (const auto& t : ts) order.push_back(&t);
      auto phase = [](const Tensor* t) { return is_embedding(*t) ? 0 : t->layer >= 0 ? 1 : 2; };
      std::stable_sort(order.begin(), order.end(), [&](const Tensor* a, const Tensor* b) {
        if (phase(a) != phase(b)) return phase(a) < phase(b);
        if (a->layer != b->layer) return a->layer < b->layer;
        return a->offset < b->offset;
      });
      for (const Tensor* t : order) add_tensor(out, *t);
      break;
    }
    case PatternKind::kRandom: {
      std::uint64_t pages = (layout.file_size + kPage - 1) / kPage;
      std::mt19937_64 rng(seed);
      std::uniform_int_distribution<std::uint64_t> pick(0, pages - 1);
      out.reserve(p.random_pages);
      for (std::uint64_t i = 0; i < p.random_pages; ++i) {
        std::uint64_t off = pick(rng) * kPage;
        out.push_back({off, std::min(kPage, layout.file_size - off)});
      }
      break;
    }
    case PatternKind::kMoe: {
      if (layout.n_experts == 0)
        throw std::invalid_argument(
            fmt::format("access pattern {}: {} is a dense model (no expert tensors)", to_string(p),
                        layout.path));
      if (layout.n_experts != p.moe_n)
        throw std::invalid_argument(
            fmt::format("access pattern {}: {} has {} experts per layer, not {}", to_string(p),
                        layout.path, layout.n_experts, p.moe_n));
      std::mt19937_64 rng(seed);
      std::vector<int> experts(p.moe_n);
      for (int layer = 0; layer < layout.n_layers; ++layer) {
        for (int i = 0; i < p.moe_n; ++i) experts[i] = i;
        std::shuffle(experts.begin(), experts.end(), rng);
        std::set<int> chosen(experts.begin(), experts.begin() + p.moe_k);
        for (const auto& t : ts)
          if (t.layer == layer && (t.expert < 0 || chosen.count(t.expert))) add_tensor(out, t);
      }
      break;
    }
    case PatternKind::kReplay:
      out = plan_replay(p, layout).ranges;
      break;
  }
  return out;
}

namespace {

// Calls fn(first_page, end_page) for each maximal run of covered pages, in
// page order.
template <typename Fn>
void for_each_page_run(const std::vector<Range>& ranges, Fn&& fn) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> iv;
  iv.reserve(ranges.size());
  for (const auto& r : ranges)
    if (r.bytes) iv.emplace_back(r.offset / kPage, (r.offset + r.bytes + kPage - 1) / kPage);
  std::sort(iv.begin(), iv.end());
  bool any = false;
  std::uint64_t begin = 0, end = 0;
  for (auto [b, e] : iv) {
    if (any && b <= end) {
      end = std::max(end, e);
      continue;
    }
    if (any) fn(begin, end);
    begin = b;
    end = e;
    any = true;
  }
  if (any) fn(begin, end);
}

}  // namespace

std::uint64_t pages_covered(const std::vector<Range>& ranges) {
  std::uint64_t total = 0;
  for_each_page_run(ranges, [&](std::uint64_t b, std::uint64_t e) { total += e - b; });
  return total;
}

std::uint64_t bytes_covered(const std::vector<Range>& ranges, std::uint64_t file_size) {
  std::uint64_t total = 0;
  for_each_page_run(ranges, [&](std::uint64_t b, std::uint64_t e) {
    const std::uint64_t lo = std::min(b * kPage, file_size);
    const std::uint64_t hi = std::min(e * kPage, file_size);
    total += hi - lo;
  });
  return total;
}

std::uint64_t touch(const std::uint8_t* data, std::uint64_t size,
                    const std::vector<Range>& ranges) {
  std::uint64_t sum = 0;
  for (const auto& r : ranges) {
    if (r.offset >= size) continue;
    std::uint64_t end = std::min(size, r.offset + r.bytes);
    // The first byte of the range, then the first byte of every later page.
    std::uint64_t off = r.offset;
    while (off < end) {
      sum = sum * 31 + *reinterpret_cast<const volatile std::uint8_t*>(data + off);
      off = (off / kPage + 1) * kPage;
    }
  }
  return sum;
}

std::vector<AccessPattern> default_patterns(const ModelLayout& layout) {
  std::vector<AccessPattern> out = {
      {PatternKind::kNone},       {PatternKind::kFirstLayer},   {PatternKind::kForward},
      {PatternKind::kSequential}, {PatternKind::kRandom, 4096},
  };
  if (layout.n_experts > 1) {
    AccessPattern moe{PatternKind::kMoe};
    moe.moe_n = layout.n_experts;
    moe.moe_k = std::max(1, layout.n_experts / 4);
    out.push_back(moe);
  }
  return out;
}

}  // namespace faultline
