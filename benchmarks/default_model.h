// The default model faultline-bench and faultline run use when no --model is
// given: generated once into the cache folder and reused.
#pragma once

#include <cstdint>
#include <string>

namespace faultline {

// $FAULTLINE_CACHE_DIR, else $XDG_CACHE_HOME/faultline, else ~/.cache/faultline;
// as root under sudo, the invoking user's ~/.cache/faultline (SUDO_UID), so the
// model is one that user can read when the benchmarks run as them.
std::string cache_dir();

// The path of the default GGUF model of `size` bytes, generating it (with
// progress on stderr) when it is not there yet. Throws on failure.
std::string ensure_default_model(std::uint64_t size, bool quiet = false);

}  // namespace faultline
