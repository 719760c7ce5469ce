// The default model faultline-bench and faultline run use when no --model is
// given: generated once into the cache folder and reused.
#pragma once

#include <cstdint>
#include <string>

namespace faultline {

// $FAULTLINE_CACHE_DIR, else $XDG_CACHE_HOME/faultline, else ~/.cache/faultline.
std::string cache_dir();

// The path of the default GGUF model of `size` bytes, generating it (with
// progress on stderr) when it is not there yet. Throws on failure.
// `dir`: the cache folder to use instead of cache_dir().
std::string ensure_default_model(std::uint64_t size, bool quiet = false,
                                 const std::string& dir = "");

}  // namespace faultline
