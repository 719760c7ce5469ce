#include "datasets/ggml_types.h"

namespace faultline {
namespace {

constexpr std::uint32_t kQK_K = 256;

constexpr GgmlType kTypes[] = {
    {0, "F32", 1, 4},           {1, "F16", 1, 2},           {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},        {6, "Q5_0", 32, 22},        {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},        {9, "Q8_1", 32, 36},        {10, "Q2_K", kQK_K, 84},
    {11, "Q3_K", kQK_K, 110},   {12, "Q4_K", kQK_K, 144},   {13, "Q5_K", kQK_K, 176},
    {14, "Q6_K", kQK_K, 210},   {15, "Q8_K", kQK_K, 292},   {16, "IQ2_XXS", kQK_K, 66},
    {17, "IQ2_XS", kQK_K, 74},  {18, "IQ3_XXS", kQK_K, 98}, {19, "IQ1_S", kQK_K, 50},
    {20, "IQ4_NL", 32, 18},     {21, "IQ3_S", kQK_K, 110},  {22, "IQ2_S", kQK_K, 82},
    {23, "IQ4_XS", kQK_K, 136}, {24, "I8", 1, 1},           {25, "I16", 1, 2},
    {26, "I32", 1, 4},          {27, "I64", 1, 8},          {28, "F64", 1, 8},
    {29, "IQ1_M", kQK_K, 56},   {30, "BF16", 1, 2},         {34, "TQ1_0", kQK_K, 54},
    {35, "TQ2_0", kQK_K, 66},   {39, "MXFP4", 32, 17},
};

}  // namespace

std::optional<GgmlType> ggml_type(std::uint32_t id) {
  for (const auto& t : kTypes)
    if (t.id == id) return t;
  return std::nullopt;
}

std::optional<GgmlType> ggml_type(std::string_view name) {
  for (const auto& t : kTypes)
    if (t.name == name) return t;
  return std::nullopt;
}

std::string ggml_type_names() {
  std::string out;
  for (const auto& t : kTypes) {
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

}  // namespace faultline
