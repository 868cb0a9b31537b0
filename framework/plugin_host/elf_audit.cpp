#include "plugin_host/elf_audit.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>

#include "plugin_host/elf_file.hpp"

namespace meshbot::plugins {
namespace {

// The socket-level APIs a plugin needs to reach the network on its own. The list is about
// *creating or using network endpoints*, not about file descriptors in general:
//   - socket, connect, bind, listen, accept, accept4 (and glibc's exported __socket and
//     __connect aliases): open, dial or serve an endpoint.
//   - sendto, sendmsg, sendmmsg, recvfrom, recvmsg, recvmmsg: datagram I/O, which needs no
//     connect() (a UDP socket can talk to any address with sendto alone).
//   - getaddrinfo, getaddrinfo_a, getnameinfo, gethostbyname*, gethostbyaddr* and
//     libresolv's res_gethostby*: name lookups, which themselves send DNS queries.
//   - res_* / __res_* query, search, querydomain and send (and their n-variants): the
//     resolver, also DNS traffic. <resolv.h> #defines res_query to __res_query, so objects
//     import the underscored name; glibc 2.34+ also exports the plain one. res_mkquery only
//     builds a packet and is not listed.
// Left out on purpose: socketpair (a local pair, no address family reaches the network),
// send/recv/read/write/setsockopt (they only act on a socket obtained by a listed call) and
// syscall/dlsym (too common to flag; see the header's "not a sandbox").
// One line per group reads better than one name per line.
// clang-format off
constexpr std::string_view network_symbols[] = {
    "socket", "__socket", "connect", "__connect", "bind", "listen", "accept", "accept4",
    "sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg",
    "getaddrinfo", "getaddrinfo_a", "getnameinfo",
    "gethostbyname", "gethostbyname_r", "gethostbyname2", "gethostbyname2_r",
    "gethostbyaddr", "gethostbyaddr_r",
    "res_gethostbyname", "res_gethostbyname2", "res_gethostbyaddr",
    "res_query", "__res_query", "res_nquery", "__res_nquery",
    "res_search", "__res_search", "res_nsearch", "__res_nsearch",
    "res_querydomain", "__res_querydomain", "res_nquerydomain", "__res_nquerydomain",
    "res_send", "__res_send", "res_nsend", "__res_nsend",
};
// clang-format on

template <typename Sym>
std::vector<std::string> read_undefined(elf::ElfFile& file) {
    const bool swap = file.swap();
    // .dynsym is found through the section headers; without them there is nothing to audit,
    // and refusing is the safe answer.
    const auto sections = file.sections("cannot find .dynsym");

    std::vector<std::string> names;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const elf::Section& dynsym = sections[i];
        if (dynsym.type != SHT_DYNSYM) continue;
        const std::string where = ".dynsym (section " + std::to_string(i) + ")";
        if (dynsym.entsize != sizeof(Sym))
            file.fail(where + ": bad entry size " + std::to_string(dynsym.entsize));
        if (dynsym.size % sizeof(Sym) != 0)
            file.fail(where + ": size " + std::to_string(dynsym.size) +
                      " is not a whole number of entries");
        if (dynsym.link == 0 || dynsym.link >= sections.size())
            file.fail(where + ": string table index " + std::to_string(dynsym.link) +
                      " out of range");
        const elf::Section& strtab = sections[dynsym.link];
        if (strtab.type != SHT_STRTAB)
            file.fail(where + ": linked section " + std::to_string(dynsym.link) +
                      " is not a string table");

        const auto symbols = file.read(dynsym.offset, dynsym.size, where);
        const auto strings = file.read(strtab.offset, strtab.size, "its string table");
        const std::uint64_t count = dynsym.size / sizeof(Sym);
        for (std::uint64_t j = 0; j < count; ++j) {
            const Sym symbol = elf::copy_out<Sym>(symbols, j * sizeof(Sym));
            if (elf::host_order(symbol.st_shndx, swap) != SHN_UNDEF) continue;
            const std::uint64_t name = elf::host_order(symbol.st_name, swap);
            if (name == 0 && strings.empty()) continue;  // an empty string table: the null symbol
            auto text =
                elf::string_at(file, strings, name, where + ": symbol " + std::to_string(j));
            if (!text.empty()) names.push_back(std::move(text));
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

}  // namespace

std::vector<std::string> undefined_dynamic_symbols(const std::filesystem::path& so) {
    elf::ElfFile file(so);
    // read_undefined checks the class (with the version and byte order) before reading.
    if (file.is_64bit()) return read_undefined<Elf64_Sym>(file);
    return read_undefined<Elf32_Sym>(file);
}

bool is_network_symbol(std::string_view name) {
    return std::find(std::begin(network_symbols), std::end(network_symbols), name) !=
           std::end(network_symbols);
}

AuditResult audit_network_imports(const std::vector<std::string>& undefined) {
    AuditResult result;
    for (const auto& name : undefined)
        if (is_network_symbol(name)) result.network_symbols.push_back(name);
    std::sort(result.network_symbols.begin(), result.network_symbols.end());
    result.network_symbols.erase(
        std::unique(result.network_symbols.begin(), result.network_symbols.end()),
        result.network_symbols.end());
    result.ok = result.network_symbols.empty();
    return result;
}

}  // namespace meshbot::plugins
