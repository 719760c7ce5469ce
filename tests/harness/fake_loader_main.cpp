// faultline-test-fake-loader: a stand-in for a real program in program-cell
// tests (faultline run --command). Maps the model, touches every page through
// the mapping, prints "ready", then, by its flags:
//   (default)   waits for SIGTERM (and ignores a closed stdin)
//   --exit MS   stays MS milliseconds more, then exits 0 (ready = exit)
//   --fail      says "fake loader: cannot load the model" on stderr and exits 3
//   --hang      prints nothing and never exits (until SIGKILL)
//   --silent    prints "loading" (never "ready") and exits 0
//   --ignore-term  ignores SIGTERM (the harness must SIGKILL it)
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [--exit MS|--fail|--hang|--silent|--ignore-term]\n",
                 argv[0]);
    return 2;
  }
  std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "--hang")
    for (;;) ::pause();
  if (mode == "--fail") {
    std::fprintf(stderr, "fake loader: cannot load the model\n");
    return 3;
  }
  if (mode == "--ignore-term") ::signal(SIGTERM, SIG_IGN);
  int fd = ::open(argv[1], O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  const std::size_t n = std::size_t(st.st_size);
  auto* p =
      static_cast<const volatile unsigned char*>(::mmap(nullptr, n, PROT_READ, MAP_PRIVATE, fd, 0));
  if (p == MAP_FAILED) {
    std::perror("mmap");
    return 1;
  }
  unsigned sum = 0;
  for (std::size_t i = 0; i < n; i += 4096) sum += p[i];
  if (mode == "--silent") {
    std::printf("loading (%u)\n", sum & 1);
    return 0;
  }
  std::printf("ready %u\n", sum & 1);
  std::fflush(stdout);
  if (mode == "--exit") {
    ::usleep(useconds_t(std::atoi(argc > 3 ? argv[3] : "300")) * 1000);
    return 0;
  }
  for (;;) ::pause();
}
