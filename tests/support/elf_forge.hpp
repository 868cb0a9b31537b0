#pragma once
// Forged copies of real ELF files, for the tests of the compatibility checks
// (framework/plugin_host/elf_compat.hpp): each function edits a file in place, the way a plugin
// built elsewhere would differ from one built here. Test thread.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace meshbot::testing {

// Sets byte `index` of the ELF identification (EI_OSABI, EI_CLASS, ...).
void forge_ident(const std::filesystem::path& so, std::size_t index, unsigned char value);

// Sets e_machine (the file is little-endian, as on every machine meshbot is tested on).
void forge_machine(const std::filesystem::path& so, std::uint16_t machine);

// Makes the file need a version no system has: the first string-table name that starts with
// `prefix` and continues with digits and dots (e.g. prefix "GLIBC_2." finds "GLIBC_2.14") has
// the digit before the prefix's last '.' replaced by 9 ("GLIBC_9.14"), keeping its length so
// every offset stays valid. Returns that new name, or "" when no such name is found.
std::string forge_needed_version(const std::filesystem::path& so, const std::string& prefix);

}  // namespace meshbot::testing
