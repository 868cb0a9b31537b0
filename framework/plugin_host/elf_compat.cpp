#include "plugin_host/elf_compat.hpp"

#include <link.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "plugin_host/elf_file.hpp"

namespace meshbot::plugins {
namespace {

namespace fs = std::filesystem;

// The version structures have the same layout in both ELF classes.
static_assert(sizeof(Elf32_Verneed) == sizeof(Elf64_Verneed) && sizeof(Elf64_Verneed) == 16);
static_assert(sizeof(Elf32_Vernaux) == sizeof(Elf64_Vernaux) && sizeof(Elf64_Vernaux) == 16);
static_assert(sizeof(Elf32_Verdef) == sizeof(Elf64_Verdef) && sizeof(Elf64_Verdef) == 20);
static_assert(sizeof(Elf32_Verdaux) == sizeof(Elf64_Verdaux) && sizeof(Elf64_Verdaux) == 8);

// What a plugin's author and an operator call the machines meshbot runs on.
std::string machine_name(unsigned machine) {
    switch (machine) {
        case EM_X86_64:
            return "x86_64";
        case EM_386:
            return "i386";
        case EM_AARCH64:
            return "aarch64";
        case EM_ARM:
            return "arm";
        case EM_RISCV:
            return "riscv";
        case EM_PPC64:
            return "ppc64";
        case EM_S390:
            return "s390x";
        case EM_MIPS:
            return "mips";
        default:
            return "ELF machine " + std::to_string(machine);
    }
}

std::string os_abi_name(unsigned os_abi) {
    switch (os_abi) {
        case ELFOSABI_HPUX:
            return "HP-UX";
        case ELFOSABI_NETBSD:
            return "NetBSD";
        case ELFOSABI_SOLARIS:
            return "Solaris";
        case ELFOSABI_AIX:
            return "AIX";
        case ELFOSABI_IRIX:
            return "IRIX";
        case ELFOSABI_FREEBSD:
            return "FreeBSD";
        case ELFOSABI_TRU64:
            return "Tru64";
        case ELFOSABI_MODESTO:
            return "Novell Modesto";
        case ELFOSABI_OPENBSD:
            return "OpenBSD";
        case 4:
            return "GNU Hurd";
        case 13:
            return "OpenVMS";
        case 17:
            return "CloudABI";
        case ELFOSABI_STANDALONE:
            return "a standalone (embedded) target";
        default:
            return "ELF OS/ABI " + std::to_string(os_abi);
    }
}

// An ELF file's target: machine, word size and byte order, the way an operator would read it.
struct ElfTarget {
    unsigned machine = 0;
    unsigned char elf_class = 0;
    unsigned char byte_order = 0;
    unsigned char os_abi = 0;

    std::string describe() const {
        std::string text = machine_name(machine);
        text += elf_class == ELFCLASS32 ? " (32-bit" : " (64-bit";
        text += byte_order == ELFDATA2LSB ? ", little-endian)" : ", big-endian)";
        return text;
    }
};

// Reads the identification and e_machine only, so that a file of another class or byte order
// is described rather than refused as unreadable.
ElfTarget read_target(const fs::path& path) {
    elf::ElfFile file(path);
    const auto& ident = file.ident();
    std::array<unsigned char, 2> machine{};
    file.read(offsetof(Elf64_Ehdr, e_machine), 2, machine.data(), "ELF machine");
    const unsigned low = ident[EI_DATA] == ELFDATA2LSB ? machine[0] : machine[1];
    const unsigned high = ident[EI_DATA] == ELFDATA2LSB ? machine[1] : machine[0];
    return ElfTarget{low | (high << 8U), ident[EI_CLASS], ident[EI_DATA], ident[EI_OSABI]};
}

// The section of `type` and the string table it links to, read whole; nullopt when the file has
// no such section. Checks the link like the import audit does.
struct VersionSection {
    std::string where;
    std::vector<char> bytes;
    std::vector<char> strings;
};
std::optional<VersionSection> read_version_section(elf::ElfFile& file, std::uint32_t type,
                                                   const std::string& name) {
    const auto sections = file.sections("cannot find " + name);
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const elf::Section& section = sections[i];
        if (section.type != type) continue;
        VersionSection out;
        out.where = name + " (section " + std::to_string(i) + ")";
        if (section.link == 0 || section.link >= sections.size())
            file.fail(out.where + ": string table index " + std::to_string(section.link) +
                      " out of range");
        const elf::Section& strtab = sections[section.link];
        if (strtab.type != SHT_STRTAB)
            file.fail(out.where + ": linked section " + std::to_string(section.link) +
                      " is not a string table");
        out.bytes = file.read(section.offset, section.size, out.where);
        out.strings = file.read(strtab.offset, strtab.size, "its string table");
        return out;
    }
    return std::nullopt;
}

// A record of type T at `offset` of a version section, or a failure naming it. Every chain
// step goes through here, so no offset from the file is used unchecked.
template <typename T>
T record_at(const elf::ElfFile& file, const VersionSection& section, std::uint64_t offset,
            const std::string& what) {
    if (offset > section.bytes.size() || sizeof(T) > section.bytes.size() - offset)
        file.fail(section.where + ": " + what + " at offset " + std::to_string(offset) +
                  " extends past the section (" + std::to_string(section.bytes.size()) + " bytes)");
    return elf::copy_out<T>(section.bytes, offset);
}

// Counts one record read from a version section against what the section can hold.
void spend(const elf::ElfFile& file, const VersionSection& section, std::uint64_t& budget) {
    if (budget == 0)
        file.fail(section.where + ": its entries chain into more records than it holds");
    --budget;
}

// A version name such as "GLIBCXX_3.4.30", split into its family ("GLIBCXX") and numbers
// ({3, 4, 30}); "GLIBC_PRIVATE" has no numbers and so no order.
struct VersionName {
    std::string family;
    std::vector<unsigned long> numbers;
};
VersionName split_version(const std::string& version) {
    const auto underscore = version.rfind('_');
    if (underscore == std::string::npos || underscore + 1 == version.size()) return {version, {}};
    std::vector<unsigned long> numbers;
    unsigned long value = 0;
    bool digit_seen = false;
    for (std::size_t i = underscore + 1; i <= version.size(); ++i) {
        const char c = i < version.size() ? version[i] : '.';
        if (c >= '0' && c <= '9' && value < 1000000) {
            value = value * 10 + static_cast<unsigned long>(c - '0');
            digit_seen = true;
        } else if (c == '.' && digit_seen) {
            numbers.push_back(value);
            value = 0;
            digit_seen = false;
        } else {
            return {version, {}};
        }
    }
    return {version.substr(0, underscore), numbers};
}

// The libraries loaded in this process, by path, in load order (the executable itself and the
// vDSO have no file and are left out).
std::vector<fs::path> loaded_libraries() {
    std::vector<fs::path> paths;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* data) noexcept -> int {
            try {
                if (info->dlpi_name != nullptr && info->dlpi_name[0] == '/')
                    static_cast<std::vector<fs::path>*>(data)->emplace_back(info->dlpi_name);
                return 0;
            } catch (...) {  // out of memory: stop listing, and check what was found
                return 1;
            }
        },
        &paths);
    return paths;
}

bool is_file(const fs::path& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

}  // namespace

std::string foreign_machine(const std::filesystem::path& so) {
    static const ElfTarget self = read_target("/proc/self/exe");
    const ElfTarget plugin = read_target(so);
    if (plugin.machine == self.machine && plugin.elf_class == self.elf_class &&
        plugin.byte_order == self.byte_order)
        return {};
    // The short form when the machine alone differs, as it usually does (x86_64 vs aarch64).
    const bool machine_only =
        plugin.elf_class == self.elf_class && plugin.byte_order == self.byte_order;
    return "built for " + (machine_only ? machine_name(plugin.machine) : plugin.describe()) +
           ", this machine is " + (machine_only ? machine_name(self.machine) : self.describe());
}

std::string foreign_os_abi(const std::filesystem::path& so) {
    const ElfTarget plugin = read_target(so);
    // The Linux loader accepts these (ELFOSABI_GNU marks GNU extensions such as IFUNC).
    if (plugin.os_abi == ELFOSABI_SYSV || plugin.os_abi == ELFOSABI_GNU) return {};
    if (plugin.os_abi == ELFOSABI_ARM_AEABI && plugin.machine == EM_ARM) return {};
    return "built for " + os_abi_name(plugin.os_abi) + ", this machine runs Linux";
}

std::vector<VersionNeed> needed_versions(const std::filesystem::path& so) {
    elf::ElfFile file(so);
    const bool swap = file.swap();
    const auto section = read_version_section(file, SHT_GNU_verneed, ".gnu.version_r");
    if (!section) return {};
    using elf::host_order;

    std::vector<VersionNeed> needs;
    std::uint64_t offset = 0;
    // The chains move forward by at least one byte a step, but may overlap: a forged file could
    // make them visit the same bytes over and over. Real records do not share bytes, so no more
    // can be read than the section holds.
    std::uint64_t budget = section->bytes.size() / sizeof(Elf64_Vernaux);
    for (std::uint64_t entry = 0;; ++entry) {
        const std::string what = "entry " + std::to_string(entry);
        spend(file, *section, budget);
        const auto need = record_at<Elf64_Verneed>(file, *section, offset, what);
        if (host_order(need.vn_version, swap) != VER_NEED_CURRENT)
            file.fail(section->where + ": " + what + ": unsupported version " +
                      std::to_string(host_order(need.vn_version, swap)));
        const std::string library =
            elf::string_at(file, section->strings, host_order(need.vn_file, swap),
                           section->where + ": " + what + " file");
        std::uint64_t aux = offset + host_order(need.vn_aux, swap);
        const unsigned count = host_order(need.vn_cnt, swap);
        for (unsigned k = 0; k < count; ++k) {
            const std::string aux_what = what + " version " + std::to_string(k);
            spend(file, *section, budget);
            const auto version = record_at<Elf64_Vernaux>(file, *section, aux, aux_what);
            needs.push_back(VersionNeed{
                library,
                elf::string_at(file, section->strings, host_order(version.vna_name, swap),
                               section->where + ": " + aux_what),
                (host_order(version.vna_flags, swap) & VER_FLG_WEAK) != 0});
            const std::uint64_t next = host_order(version.vna_next, swap);
            if (next == 0) break;
            aux += next;
        }
        const std::uint64_t next = host_order(need.vn_next, swap);
        if (next == 0) break;
        offset += next;
    }
    return needs;
}

std::vector<std::string> defined_versions(const std::filesystem::path& library) {
    elf::ElfFile file(library);
    const bool swap = file.swap();
    const auto section = read_version_section(file, SHT_GNU_verdef, ".gnu.version_d");
    if (!section) return {};
    using elf::host_order;

    std::vector<std::string> versions;
    std::uint64_t offset = 0;
    std::uint64_t budget = section->bytes.size() / sizeof(Elf64_Verdaux);  // as in needed_versions
    for (std::uint64_t entry = 0;; ++entry) {
        const std::string what = "entry " + std::to_string(entry);
        spend(file, *section, budget);
        const auto def = record_at<Elf64_Verdef>(file, *section, offset, what);
        if (host_order(def.vd_version, swap) != VER_DEF_CURRENT)
            file.fail(section->where + ": " + what + ": unsupported version " +
                      std::to_string(host_order(def.vd_version, swap)));
        // The first auxiliary entry names the version; later ones name its parents.
        if ((host_order(def.vd_flags, swap) & VER_FLG_BASE) == 0 &&
            host_order(def.vd_cnt, swap) > 0) {
            const auto name = record_at<Elf64_Verdaux>(
                file, *section, offset + host_order(def.vd_aux, swap), what + " name");
            versions.push_back(elf::string_at(file, section->strings,
                                              host_order(name.vda_name, swap),
                                              section->where + ": " + what));
        }
        const std::uint64_t next = host_order(def.vd_next, swap);
        if (next == 0) break;
        offset += next;
    }
    return versions;
}

std::filesystem::path system_library(const std::string& soname) {
    if (soname.empty() || soname.find('/') != std::string::npos) return {};
    const auto loaded = loaded_libraries();
    for (const auto& path : loaded)
        if (path.filename() == soname && is_file(path)) return path;

    std::vector<fs::path> folders;
    for (const auto& path : loaded)
        if (std::find(folders.begin(), folders.end(), path.parent_path()) == folders.end())
            folders.push_back(path.parent_path());
    for (const char* folder : {"/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"})
        folders.emplace_back(folder);
    for (const auto& folder : folders) {
        const fs::path candidate = folder / soname;
        if (!is_file(candidate)) continue;
        // The loader skips a library built for another machine (a 32-bit one in /usr/lib).
        try {
            if (foreign_machine(candidate).empty()) return candidate;
        } catch (const std::exception&) {
            continue;  // not a readable ELF file: the loader would not take it either
        }
    }
    return {};
}

std::vector<std::string> missing_versions(const std::filesystem::path& so) {
    // Per library, the strong needs, then checked against that library's definitions.
    std::map<std::string, std::vector<std::string>> wanted;
    for (const auto& need : needed_versions(so))
        if (!need.weak) wanted[need.library].push_back(need.version);

    std::vector<std::string> messages;
    for (const auto& [library, versions] : wanted) {
        const fs::path found = system_library(library);
        if (found.empty()) continue;
        std::vector<std::string> defined;
        try {
            defined = defined_versions(found);
        } catch (const std::exception&) {
            continue;  // this system's own library is unreadable: leave the verdict to dlopen
        }
        if (defined.empty()) continue;  // unversioned: the loader accepts any need

        // Per family: the newest missing version, and the newest this system has.
        std::map<std::string, std::pair<VersionName, std::string>> newest_missing;
        std::vector<std::string> unordered_missing;
        for (const auto& version : versions) {
            if (std::find(defined.begin(), defined.end(), version) != defined.end()) continue;
            VersionName name = split_version(version);
            if (name.numbers.empty()) {
                if (std::find(unordered_missing.begin(), unordered_missing.end(), version) ==
                    unordered_missing.end())
                    unordered_missing.push_back(version);
                continue;
            }
            auto [at, inserted] = newest_missing.try_emplace(name.family, name, version);
            if (!inserted && at->second.first.numbers < name.numbers)
                at->second = {std::move(name), version};
        }
        for (const auto& [family, missing] : newest_missing) {
            std::optional<std::pair<std::vector<unsigned long>, std::string>> have;
            for (const auto& version : defined) {
                auto name = split_version(version);
                if (name.family == family && !name.numbers.empty() &&
                    (!have || have->first < name.numbers))
                    have.emplace(std::move(name.numbers), version);
            }
            std::string text = "needs " + missing.second + " (" + library + "), ";
            if (!have)
                text += "which this system's " + library + " does not define";
            else if (family == "GLIBC")  // glibc's versions are its release numbers
                text += "this system has " + have->second;
            else
                text += "this system's newest is " + have->second;
            messages.push_back(std::move(text));
        }
        for (const auto& version : unordered_missing)
            messages.push_back("needs " + version + " (" + library + "), which this system's " +
                               library + " does not define");
    }
    return messages;
}

std::string elf_incompatibility(const std::filesystem::path& so) {
    std::vector<std::string> reasons;
    if (auto machine = foreign_machine(so); !machine.empty()) reasons.push_back(machine);
    if (auto os_abi = foreign_os_abi(so); !os_abi.empty()) reasons.push_back(os_abi);
    if (reasons.empty()) reasons = missing_versions(so);
    std::string joined;
    for (const auto& reason : reasons)
        joined += (joined.empty() ? "" : "; ") + reason;
    return joined;
}

}  // namespace meshbot::plugins
