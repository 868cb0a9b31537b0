#pragma once
// Load-time audit of a plugin's imports: which undefined dynamic symbols its .so asks the dynamic
// loader for, and whether any of them is a socket-level network API
// (docs/abi.md, "The import audit and the connect guard").
//
// This is a tripwire, not a sandbox: it sees only the plugin's own direct imports, read from
// its section headers (which the dynamic loader ignores and a hostile author can forge). A
// plugin can still reach the network through a library it links (libcurl's imports are not
// the plugin's), through syscall(2), or through dlsym(3). It catches the honest mistake of a
// plugin that talks to the network without declaring the "network" permission.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace meshbot::plugins {

// The names of the undefined symbols in the .dynsym section of an ELF file (32- or 64-bit,
// little- or big-endian): every symbol with st_shndx == SHN_UNDEF and a non-empty name, weak
// ones included, sorted and without duplicates. Names are returned as stored; .dynsym names
// carry no "@GLIBC_2.2.5" suffix (nm prints that from .gnu.version). A file without .dynsym
// gives an empty list. Reads the file directly and never trusts an offset or size in it:
// throws std::runtime_error "PATH: problem" for a missing, non-ELF, truncated or malformed
// file, and for a file without section headers (which cannot be audited). Pure; any thread.
std::vector<std::string> undefined_dynamic_symbols(const std::filesystem::path& so);

struct AuditResult {
    bool ok = true;                            // no network API imported
    std::vector<std::string> network_symbols;  // the imported ones, sorted
};

// True for the socket-level APIs listed in elf_audit.cpp (socket, connect, getaddrinfo, ...).
bool is_network_symbol(std::string_view name);

// Flags the network APIs among `undefined` (as returned by undefined_dynamic_symbols).
// Pure; any thread.
AuditResult audit_network_imports(const std::vector<std::string>& undefined);

}  // namespace meshbot::plugins
