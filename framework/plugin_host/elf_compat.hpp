#pragma once
// Whether a plugin's ELF file can run on this system, checked before it is opened (by the host
// before dlopen, and by `meshbot plugin install` before copying): machine, class and byte order,
// OS/ABI, and the symbol versions it needs from this system's libraries (GLIBC_2.38 from
// libc.so.6, GLIBCXX_3.4.32 from libstdc++.so.6, ...). dlopen would refuse the same files, but
// with a message an operator cannot act on ("version `GLIBC_2.38' not found"), and only after
// the plugin was installed.
//
// Every function reads the file directly, never trusts an offset or size in it, and throws
// std::runtime_error "PATH: problem" for a missing, non-ELF, truncated or malformed file
// (elf_file.hpp). All are pure apart from reading files; any thread.

#include <filesystem>
#include <string>
#include <vector>

namespace meshbot::plugins {

// Every reason the ELF file cannot be loaded here, joined with "; ", or "" when it fits:
// foreign_machine, then foreign_os_abi, then (only when both fit, as another machine's or
// system's needs say nothing about this one) missing_versions.
std::string elf_incompatibility(const std::filesystem::path& so);

// Why the ELF file cannot run in this process, e.g. "built for aarch64, this machine is
// x86_64" (machine, class or byte order differ from this process's own executable), or "".
std::string foreign_machine(const std::filesystem::path& so);

// "built for FreeBSD, this machine runs Linux" when EI_OSABI is neither System V nor GNU/Linux
// (nor ARM EABI on 32-bit ARM), else "".
std::string foreign_os_abi(const std::filesystem::path& so);

// One symbol version the file requires of a library (.gnu.version_r, SHT_GNU_verneed).
struct VersionNeed {
    std::string library;  // the DT_NEEDED name, e.g. "libc.so.6"
    std::string version;  // e.g. "GLIBC_2.34"
    bool weak = false;    // VER_FLG_WEAK: the loader does not insist on it
};

// The versions the file requires, in file order; empty without a .gnu.version_r section.
std::vector<VersionNeed> needed_versions(const std::filesystem::path& so);

// The versions a library defines (.gnu.version_d, SHT_GNU_verdef), its own base entry (the
// soname) left out; empty without a .gnu.version_d section.
std::vector<std::string> defined_versions(const std::filesystem::path& library);

// Where this system's copy of the library `soname` is, or "" when it is not found: the copy
// loaded in this process (dl_iterate_phdr) when there is one, which is what the loader would
// pick for the plugin too; else the first file of that name, for this machine, in the folders
// those loaded libraries came from, then /lib64, /usr/lib64, /lib, /usr/lib, /usr/local/lib.
// ld.so.cache, LD_LIBRARY_PATH and the plugin's RUNPATH are not consulted: a library found only
// there is not checked here (dlopen still checks it).
std::filesystem::path system_library(const std::string& soname);

// The required versions this system's libraries do not define, one message each, e.g.
// "needs GLIBC_2.38 (libc.so.6), this system has GLIBC_2.36" or "needs GLIBCXX_3.4.32
// (libstdc++.so.6), this system's newest is GLIBCXX_3.4.30". Per library and version family,
// only the newest missing version is named. Weak needs, and libraries not found or without
// version definitions (the loader accepts those), are not reported.
std::vector<std::string> missing_versions(const std::filesystem::path& so);

}  // namespace meshbot::plugins
