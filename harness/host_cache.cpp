#include "harness/host_cache.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/cpu_flags.h"

namespace faultline::harness {
namespace fs = std::filesystem;
namespace {

std::string read_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// DMI names that only virtual machines give.
bool vm_dmi_name(const std::string& text) {
  const std::string t = lower(text);
  for (const char* name : {"qemu", "kvm", "vmware", "virtualbox", "innotek", "xen", "bochs",
                           "parallels", "bhyve", "amazon ec2", "google compute engine", "openstack",
                           "virtual machine", "cloud hypervisor", "firecracker"})
    if (t.find(name) != std::string::npos) return true;
  return false;
}

// The paravirtual driver (or virtio bus) behind the disk that holds `file`.
std::string virtual_disk(const std::string& file, const std::string& sys_root) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return "";
  std::error_code ec;
  fs::path dev = fs::canonical(
      fmt::format("{}/dev/block/{}:{}", sys_root, major(st.st_dev), minor(st.st_dev)), ec);
  if (ec) return "";
  if (!fs::exists(dev / "device") && fs::exists(dev.parent_path() / "device"))
    dev = dev.parent_path();  // a partition: its disk
  const std::string driver = fs::read_symlink(dev / "device/driver", ec).filename().string();
  for (const char* pv : {"virtio_blk", "virtio_scsi", "xen_blkfront", "vbd", "vmw_pvscsi",
                         "hv_storvsc", "virtio-pci"})
    if (driver == pv) return driver + " disk";
  if (dev.string().find("/virtio") != std::string::npos) return "disk on the virtio bus";
  if (read_line(dev / "device/vendor") == "0x1af4") return "virtio disk (PCI vendor 0x1af4)";
  return "";
}

}  // namespace

VmSigns detect_vm(const std::string& file, const std::string& sys_root,
                  const std::string& proc_root) {
  std::vector<std::string> signs;
  bool bare_metal_sign = false;
  const fs::path dmi = fs::path(sys_root) / "class/dmi/id";
  for (const char* key : {"sys_vendor", "product_name", "bios_vendor", "board_vendor"}) {
    const std::string v = read_line(dmi / key);
    if (v.empty()) continue;
    if (vm_dmi_name(v))
      signs.push_back(fmt::format("DMI {} \"{}\"", key, v));
    else if (std::string(key) == "sys_vendor")
      bare_metal_sign = true;
  }
  if (const auto flags = cpu_flags(proc_root)) {
    if (flags->contains("hypervisor"))
      signs.push_back("cpuinfo hypervisor flag");
    else
      bare_metal_sign = true;
  }
  if (auto disk = virtual_disk(file, sys_root); !disk.empty()) signs.push_back(disk);
  VmSigns out;
  if (!signs.empty()) {
    out.virtual_machine = true;
    out.evidence = fmt::format("{}", fmt::join(signs, ", "));
  } else if (bare_metal_sign) {
    out.virtual_machine = false;
    out.evidence = "no hypervisor flag, DMI name or paravirtual disk";
  } else {
    out.evidence = "no DMI, no cpuinfo flags and no known disk driver to tell by";
  }
  return out;
}

nlohmann::json host_cache_verdict(std::optional<double> first, std::optional<double> again,
                                  std::uint64_t range_bytes, const VmSigns& vm) {
  nlohmann::json j = {{"virtual_machine", vm.virtual_machine ? nlohmann::json(*vm.virtual_machine)
                                                             : nlohmann::json(nullptr)},
                      {"first_gbps", first ? nlohmann::json(*first) : nlohmann::json(nullptr)},
                      {"again_gbps", again ? nlohmann::json(*again) : nlohmann::json(nullptr)},
                      {"range_bytes", range_bytes},
                      {"vm_evidence", vm.evidence}};
  const std::string range = fmt::format("the first {} MiB of the model", range_bytes >> 20);
  const std::string where = vm.virtual_machine.value_or(false)
                                ? "the VM host's page cache under the guest's disk"
                                : "a cache below this kernel (a device or host cache)";
  if (!first || !again) {
    j["verdict"] = "unknown";
    j["detail"] = fmt::format(
        "an O_DIRECT read of {} failed, so a cache below the guest could "
        "be neither seen nor ruled out",
        range);
  } else if (*again >= kHostCacheRatio * *first) {
    j["verdict"] = "observed";
    j["detail"] = fmt::format(
        "reading {} twice with O_DIRECT took it at {:.2f} then {:.2f} GB/s (x{:.2f}): {} serves "
        "re-reads, so a cold cell here is cold in the guest only",
        range, *first, *again, *again / *first, where);
  } else {
    j["verdict"] = "not_observed";
    j["detail"] = fmt::format(
        "reading {} twice with O_DIRECT took it at {:.2f} then {:.2f} GB/s (x{:.2f}): no cache "
        "below the guest seen (one that already held the range would not show)",
        range, *first, *again, *again / *first);
  }
  return j;
}

}  // namespace faultline::harness
