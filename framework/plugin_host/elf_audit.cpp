#include "plugin_host/elf_audit.hpp"

#include <elf.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>
#include <type_traits>

namespace meshbot::plugins {
namespace {

namespace fs = std::filesystem;

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

// The structures of one ELF class, so the reader below is written once for both.
struct Elf32 {
    using Ehdr = Elf32_Ehdr;
    using Shdr = Elf32_Shdr;
    using Sym = Elf32_Sym;
};
struct Elf64 {
    using Ehdr = Elf64_Ehdr;
    using Shdr = Elf64_Shdr;
    using Sym = Elf64_Sym;
};

// A field as the file stores it, converted to host order when the file's byte order differs.
template <typename T>
T host_order(T value, bool swap) {
    static_assert(std::is_unsigned_v<T>);
    if constexpr (sizeof(T) == 1) {
        return value;
    } else {
        if (!swap) return value;
        T out = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            out = static_cast<T>((out << 8) | (value & 0xffU));
            value = static_cast<T>(value >> 8);
        }
        return out;
    }
}

// The file being audited. Every read is checked against the file size first, so a lying
// header makes a clear error instead of a read past the end or a giant allocation.
class ElfFile {
public:
    explicit ElfFile(const fs::path& path) : path_(path) {
        std::error_code ec;
        const auto status = fs::status(path, ec);
        if (ec) fail("cannot open: " + ec.message());
        if (!fs::is_regular_file(status)) fail("not a regular file");
        size_ = fs::file_size(path, ec);
        if (ec) fail("cannot open: " + ec.message());
        errno = 0;
        in_.open(path, std::ios::binary);
        if (!in_) fail("cannot open: " + std::generic_category().message(errno ? errno : EIO));
    }

    std::uint64_t size() const { return size_; }

    [[noreturn]] void fail(const std::string& problem) const {
        throw std::runtime_error(path_.string() + ": " + problem);
    }

    // Reads [offset, offset + length) into `out`, or throws naming `what` was cut short.
    void read(std::uint64_t offset, std::uint64_t length, void* out, const std::string& what) {
        if (offset > size_ || length > size_ - offset)
            fail("truncated: " + what + " (" + std::to_string(length) + " bytes at offset " +
                 std::to_string(offset) + ") extends past the end of the file (" +
                 std::to_string(size_) + " bytes)");
        if (length == 0) return;
        in_.seekg(static_cast<std::streamoff>(offset));
        in_.read(static_cast<char*>(out), static_cast<std::streamsize>(length));
        // The file shrank since it was measured, or the read failed.
        if (!in_ || static_cast<std::uint64_t>(in_.gcount()) != length)
            fail("truncated: cannot read " + what);
    }

    std::vector<char> read(std::uint64_t offset, std::uint64_t length, const std::string& what) {
        std::vector<char> bytes;
        // Validate before allocating: the length comes from the file.
        if (offset <= size_ && length <= size_ - offset) bytes.resize(length);
        read(offset, length, bytes.data(), what);
        return bytes;
    }

private:
    fs::path path_;
    std::ifstream in_;
    std::uint64_t size_ = 0;
};

// A struct copied out of a byte buffer: memcpy, because the buffer has no alignment
// guarantee for it.
template <typename T>
T copy_out(const std::vector<char>& bytes, std::uint64_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

template <typename E>
std::vector<std::string> read_undefined(ElfFile& file, bool swap) {
    using Shdr = typename E::Shdr;
    using Sym = typename E::Sym;

    typename E::Ehdr header;
    file.read(0, sizeof header, &header, "ELF header");
    const std::uint64_t shoff = host_order(header.e_shoff, swap);
    const std::uint64_t shentsize = host_order(header.e_shentsize, swap);
    std::uint64_t shnum = host_order(header.e_shnum, swap);

    // .dynsym is found through the section headers; without them there is nothing to audit,
    // and refusing is the safe answer.
    if (shoff == 0) file.fail("no section headers, cannot find .dynsym");
    if (shentsize < sizeof(Shdr))
        file.fail("bad section header entry size " + std::to_string(shentsize));

    auto section_at = [&](const std::vector<char>& table, std::uint64_t index) {
        Shdr s = copy_out<Shdr>(table, index * shentsize);
        s.sh_type = host_order(s.sh_type, swap);
        s.sh_offset = host_order(s.sh_offset, swap);
        s.sh_size = host_order(s.sh_size, swap);
        s.sh_link = host_order(s.sh_link, swap);
        s.sh_entsize = host_order(s.sh_entsize, swap);
        return s;
    };
    // More than 0xff00 sections: e_shnum is 0 and the real count is section 0's sh_size.
    if (shnum == 0) {
        const auto first = file.read(shoff, shentsize, "section header 0");
        shnum = section_at(first, 0).sh_size;
        if (shnum == 0) file.fail("no section headers, cannot find .dynsym");
    }
    if (shoff > file.size() || shnum > (file.size() - shoff) / shentsize)
        file.fail("truncated: section header table (" + std::to_string(shnum) +
                  " entries at offset " + std::to_string(shoff) +
                  ") extends past the end of the file (" + std::to_string(file.size()) + " bytes)");
    const auto table = file.read(shoff, shnum * shentsize, "section header table");

    std::vector<std::string> names;
    for (std::uint64_t i = 0; i < shnum; ++i) {
        const Shdr dynsym = section_at(table, i);
        if (dynsym.sh_type != SHT_DYNSYM) continue;
        const std::string where = ".dynsym (section " + std::to_string(i) + ")";
        if (dynsym.sh_entsize != sizeof(Sym))
            file.fail(where + ": bad entry size " + std::to_string(dynsym.sh_entsize));
        if (dynsym.sh_size % sizeof(Sym) != 0)
            file.fail(where + ": size " + std::to_string(dynsym.sh_size) +
                      " is not a whole number of entries");
        if (dynsym.sh_link == 0 || dynsym.sh_link >= shnum)
            file.fail(where + ": string table index " + std::to_string(dynsym.sh_link) +
                      " out of range");
        const Shdr strtab = section_at(table, dynsym.sh_link);
        if (strtab.sh_type != SHT_STRTAB)
            file.fail(where + ": linked section " + std::to_string(dynsym.sh_link) +
                      " is not a string table");

        const auto symbols = file.read(dynsym.sh_offset, dynsym.sh_size, where);
        const auto strings = file.read(strtab.sh_offset, strtab.sh_size, "its string table");
        const std::uint64_t count = dynsym.sh_size / sizeof(Sym);
        for (std::uint64_t j = 0; j < count; ++j) {
            const Sym symbol = copy_out<Sym>(symbols, j * sizeof(Sym));
            if (host_order(symbol.st_shndx, swap) != SHN_UNDEF) continue;
            const std::uint64_t name = host_order(symbol.st_name, swap);
            if (name >= strings.size()) {
                if (name == 0) continue;  // an empty string table: the null symbol only
                file.fail(where + ": symbol " + std::to_string(j) + ": name offset " +
                          std::to_string(name) + " outside the string table");
            }
            const auto begin = strings.begin() + static_cast<std::ptrdiff_t>(name);
            const auto end = std::find(begin, strings.end(), '\0');
            if (end == strings.end())
                file.fail(where + ": symbol " + std::to_string(j) + ": unterminated name");
            if (begin != end) names.emplace_back(begin, end);
        }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

// The identification bytes, checked to be ELF, of the file.
std::array<unsigned char, EI_NIDENT> read_ident(ElfFile& file) {
    std::array<unsigned char, EI_NIDENT> ident{};
    if (file.size() < SELFMAG) file.fail("not an ELF file");
    file.read(0, SELFMAG, ident.data(), "ELF magic");
    if (std::memcmp(ident.data(), ELFMAG, SELFMAG) != 0) file.fail("not an ELF file");
    file.read(0, EI_NIDENT, ident.data(), "ELF identification");
    return ident;
}

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

// An ELF file's target: machine, word size and byte order, the way an operator would read it.
struct ElfTarget {
    unsigned machine = 0;
    unsigned char elf_class = 0;
    unsigned char byte_order = 0;

    std::string describe() const {
        std::string text = machine_name(machine);
        text += elf_class == ELFCLASS32 ? " (32-bit" : " (64-bit";
        text += byte_order == ELFDATA2LSB ? ", little-endian)" : ", big-endian)";
        return text;
    }
};

ElfTarget read_target(const fs::path& path) {
    ElfFile file(path);
    const auto ident = read_ident(file);
    std::array<unsigned char, 2> machine{};
    file.read(offsetof(Elf64_Ehdr, e_machine), 2, machine.data(), "ELF machine");
    const unsigned low = ident[EI_DATA] == ELFDATA2LSB ? machine[0] : machine[1];
    const unsigned high = ident[EI_DATA] == ELFDATA2LSB ? machine[1] : machine[0];
    return ElfTarget{low | (high << 8U), ident[EI_CLASS], ident[EI_DATA]};
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

std::vector<std::string> undefined_dynamic_symbols(const std::filesystem::path& so) {
    ElfFile file(so);
    const auto ident = read_ident(file);

    if (ident[EI_VERSION] != EV_CURRENT)
        file.fail("unsupported ELF version " + std::to_string(ident[EI_VERSION]));
    const bool little = ident[EI_DATA] == ELFDATA2LSB;
    if (!little && ident[EI_DATA] != ELFDATA2MSB)
        file.fail("unsupported ELF byte order " + std::to_string(ident[EI_DATA]));
    const bool swap = little != (std::endian::native == std::endian::little);
    switch (ident[EI_CLASS]) {
        case ELFCLASS32:
            return read_undefined<Elf32>(file, swap);
        case ELFCLASS64:
            return read_undefined<Elf64>(file, swap);
        default:
            file.fail("unsupported ELF class " + std::to_string(ident[EI_CLASS]));
    }
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
