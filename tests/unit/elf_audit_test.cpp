#include <catch2/catch.hpp>

#include <elf.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugin_host/elf_audit.hpp"
#include "plugin_host/elf_file.hpp"

using Catch::Matchers::Contains;
using meshbot::plugins::audit_network_imports;
using meshbot::plugins::is_network_symbol;
using meshbot::plugins::undefined_dynamic_symbols;

namespace fs = std::filesystem;

namespace {

// Taking their addresses makes this test binary import both from libc, so /proc/self/exe is a
// fixture that exists wherever the test runs. (Not connect or socket: the host may one day
// define those itself, to guard them.) The test reads them, so they are not optimized away.
auto* volatile keep_getnameinfo = &::getnameinfo;
auto* volatile keep_getpid = &::getpid;

bool contains(const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// A scratch directory for files written by one test, removed afterwards.
class TempDir {
public:
    TempDir() {
        path_ = fs::temp_directory_path() /
                ("meshbot_elf_test_" + std::to_string(::getpid()) + "_" + std::to_string(next_++));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    fs::path write(const std::string& name, const std::string& bytes) const {
        const fs::path file = path_ / name;
        std::ofstream(file, std::ios::binary)
            .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        return file;
    }
    const fs::path& path() const { return path_; }

private:
    static inline int next_ = 0;
    fs::path path_;
};

// The first of `names` found in the usual library folders ("" if none).
fs::path find_library(const std::vector<std::string>& names) {
    const char* dirs[] = {"/lib/x86_64-linux-gnu",
                          "/usr/lib/x86_64-linux-gnu",
                          "/lib/aarch64-linux-gnu",
                          "/usr/lib/aarch64-linux-gnu",
                          "/lib64",
                          "/usr/lib64",
                          "/lib",
                          "/usr/lib"};
    for (const auto& name : names)
        for (const char* dir : dirs)
            if (std::error_code ec; fs::is_regular_file(fs::path(dir) / name, ec))
                return fs::path(dir) / name;
    return {};
}

// ---- A minimal ELF image built in memory: ehdr, .dynstr, .dynsym, section headers. ----

struct Symbol {
    std::string name;
    bool defined = false;
};

struct Image {
    std::string bytes;
    std::size_t dynstr_offset = 0;
    std::size_t dynsym_offset = 0;
    std::size_t shoff = 0;  // section headers: [0] null, [1] .dynstr, [2] .dynsym
    std::size_t shentsize = 0;
    std::size_t dynstr_size = 0;
};

// The file's byte order is the host's one swapped, or not: the reader's conversion both ways.
template <typename T>
T to_file_order(T value, bool big_endian) {
    return meshbot::plugins::elf::host_order(value, big_endian);
}

template <typename T>
void put(std::string& bytes, std::size_t offset, const T& value) {
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// Overwrites a little-endian field of a finished image (for corrupting it).
template <typename T>
void patch(Image& image, std::size_t offset, T value) {
    put(image.bytes, offset, value);
}

template <typename Ehdr, typename Shdr, typename Sym>
Image build_elf(const std::vector<Symbol>& symbols, bool big_endian, unsigned char elf_class) {
    const bool be = big_endian;
    std::string strtab(1, '\0');
    std::vector<std::uint32_t> name_offsets;
    for (const auto& s : symbols) {
        name_offsets.push_back(static_cast<std::uint32_t>(s.name.empty() ? 0 : strtab.size()));
        if (!s.name.empty()) strtab += s.name + '\0';
    }
    Image image;
    image.dynstr_offset = sizeof(Ehdr);
    image.dynstr_size = strtab.size();
    image.dynsym_offset = image.dynstr_offset + strtab.size();
    const std::size_t symcount = symbols.size() + 1;  // plus the null symbol
    image.shoff = image.dynsym_offset + symcount * sizeof(Sym);
    image.shentsize = sizeof(Shdr);
    image.bytes.assign(image.shoff + 3 * sizeof(Shdr), '\0');

    Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = elf_class;
    eh.e_ident[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = to_file_order<decltype(eh.e_type)>(ET_DYN, be);
    eh.e_shoff = to_file_order<decltype(eh.e_shoff)>(image.shoff, be);
    eh.e_ehsize = to_file_order<decltype(eh.e_ehsize)>(sizeof(Ehdr), be);
    eh.e_shentsize = to_file_order<decltype(eh.e_shentsize)>(sizeof(Shdr), be);
    eh.e_shnum = to_file_order<decltype(eh.e_shnum)>(3, be);
    put(image.bytes, 0, eh);
    image.bytes.replace(image.dynstr_offset, strtab.size(), strtab);

    for (std::size_t i = 0; i < symbols.size(); ++i) {
        Sym sym{};
        sym.st_name = to_file_order<decltype(sym.st_name)>(name_offsets[i], be);
        // Defined symbols point at section 2 (any index but SHN_UNDEF would do).
        sym.st_shndx = to_file_order<decltype(sym.st_shndx)>(symbols[i].defined ? 2 : 0, be);
        put(image.bytes, image.dynsym_offset + (i + 1) * sizeof(Sym), sym);
    }

    Shdr str{};
    str.sh_type = to_file_order<decltype(str.sh_type)>(SHT_STRTAB, be);
    str.sh_offset = to_file_order<decltype(str.sh_offset)>(image.dynstr_offset, be);
    str.sh_size = to_file_order<decltype(str.sh_size)>(strtab.size(), be);
    put(image.bytes, image.shoff + sizeof(Shdr), str);
    Shdr dyn{};
    dyn.sh_type = to_file_order<decltype(dyn.sh_type)>(SHT_DYNSYM, be);
    dyn.sh_offset = to_file_order<decltype(dyn.sh_offset)>(image.dynsym_offset, be);
    dyn.sh_size = to_file_order<decltype(dyn.sh_size)>(symcount * sizeof(Sym), be);
    dyn.sh_link = to_file_order<decltype(dyn.sh_link)>(1, be);
    dyn.sh_entsize = to_file_order<decltype(dyn.sh_entsize)>(sizeof(Sym), be);
    put(image.bytes, image.shoff + 2 * sizeof(Shdr), dyn);
    return image;
}

Image build_elf64(const std::vector<Symbol>& symbols, bool big_endian = false) {
    return build_elf<Elf64_Ehdr, Elf64_Shdr, Elf64_Sym>(symbols, big_endian, ELFCLASS64);
}
Image build_elf32(const std::vector<Symbol>& symbols, bool big_endian = false) {
    return build_elf<Elf32_Ehdr, Elf32_Shdr, Elf32_Sym>(symbols, big_endian, ELFCLASS32);
}

const std::vector<Symbol> sample = {
    {"socket", false},         {"malloc", false}, {"plugin_entry", true},
    {"__gmon_start__", false}, {"", false},  // an unnamed undefined symbol is not an import
};
const std::vector<std::string> sample_undefined = {"__gmon_start__", "malloc", "socket"};

// The message undefined_dynamic_symbols throws for `bytes` ("" when it does not throw).
std::string error_for(const std::string& bytes) {
    TempDir dir;
    try {
        (void)undefined_dynamic_symbols(dir.write("x.so", bytes));
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("Undefined symbols are read from 32- and 64-bit ELF of either byte order", "[elf]") {
    TempDir dir;
    CHECK(undefined_dynamic_symbols(dir.write("64le.so", build_elf64(sample).bytes)) ==
          sample_undefined);
    CHECK(undefined_dynamic_symbols(dir.write("64be.so", build_elf64(sample, true).bytes)) ==
          sample_undefined);
    CHECK(undefined_dynamic_symbols(dir.write("32le.so", build_elf32(sample).bytes)) ==
          sample_undefined);
    CHECK(undefined_dynamic_symbols(dir.write("32be.so", build_elf32(sample, true).bytes)) ==
          sample_undefined);
    CHECK(undefined_dynamic_symbols(dir.write("none.so", build_elf64({}).bytes)).empty());
}

TEST_CASE("More than 0xff00 sections: the count comes from section 0", "[elf]") {
    Image image = build_elf64(sample);
    patch<Elf64_Half>(image, offsetof(Elf64_Ehdr, e_shnum), 0);
    patch<Elf64_Xword>(image, image.shoff + offsetof(Elf64_Shdr, sh_size), 3);
    TempDir dir;
    CHECK(undefined_dynamic_symbols(dir.write("x.so", image.bytes)) == sample_undefined);
}

TEST_CASE("The test binary's own imports are found, without version suffixes", "[elf]") {
    REQUIRE(keep_getnameinfo != nullptr);
    REQUIRE(keep_getpid != nullptr);
    const auto names = undefined_dynamic_symbols("/proc/self/exe");
    CHECK(contains(names, "getpid"));       // nm -D prints getpid@GLIBC_2.2.5
    CHECK(contains(names, "getnameinfo"));  // see keep_getnameinfo above
    CHECK_FALSE(contains(names, "main"));   // defined here
    CHECK(std::none_of(names.begin(), names.end(),
                       [](const std::string& n) { return n.find('@') != std::string::npos; }));
    CHECK(std::is_sorted(names.begin(), names.end()));

    const auto audit = audit_network_imports(names);
    CHECK_FALSE(audit.ok);
    CHECK(contains(audit.network_symbols, "getnameinfo"));
}

TEST_CASE("libsystemd imports socket APIs, and libc defines them", "[elf]") {
    // libsystemd0 is a dependency of apt, so every Debian system has it. Expectation checked
    // with `nm -D --undefined-only` on Debian 12 (systemd 252): sd-bus and the journal client
    // dial sockets; socketpair is imported too but is local and must not be flagged.
    const fs::path systemd = find_library({"libsystemd.so.0"});
    if (systemd.empty()) {
        WARN("libsystemd.so.0 not found; skipping the system library cross-check");
        return;
    }
    const auto names = undefined_dynamic_symbols(systemd);
    for (const char* expected : {"socket", "connect", "bind", "getaddrinfo", "sendmsg"})
        CHECK(contains(names, expected));
    CHECK(contains(names, "socketpair"));
    CHECK(contains(names, "malloc"));

    const auto audit = audit_network_imports(names);
    CHECK_FALSE(audit.ok);
    for (const char* expected : {"bind", "connect", "getaddrinfo", "sendmsg", "socket"})
        CHECK(contains(audit.network_symbols, expected));
    CHECK_FALSE(contains(audit.network_symbols, "socketpair"));
    CHECK_FALSE(contains(audit.network_symbols, "malloc"));

    const fs::path libc = find_library({"libc.so.6"});
    REQUIRE_FALSE(libc.empty());
    const auto libc_imports = undefined_dynamic_symbols(libc);
    CHECK_FALSE(contains(libc_imports, "socket"));
    CHECK_FALSE(contains(libc_imports, "connect"));
    CHECK(audit_network_imports(libc_imports).ok);
}

TEST_CASE("The audit flags socket-level APIs and nothing else", "[elf]") {
    for (const char* name :
         {"socket", "connect", "bind", "listen", "accept", "accept4", "getaddrinfo", "getnameinfo",
          "gethostbyname", "gethostbyname_r", "gethostbyaddr", "sendto", "sendmsg", "recvfrom",
          "recvmsg", "res_query", "__res_query", "res_search", "__res_send"})
        CHECK(is_network_symbol(name));
    for (const char* name : {"socketpair", "send", "recv", "read", "write", "setsockopt", "malloc",
                             "res_mkquery", "connect_", "Socket", ""})
        CHECK_FALSE(is_network_symbol(name));

    const auto clean = audit_network_imports({"malloc", "free", "socketpair"});
    CHECK(clean.ok);
    CHECK(clean.network_symbols.empty());

    const auto flagged = audit_network_imports({"socket", "malloc", "connect", "socket"});
    CHECK_FALSE(flagged.ok);
    CHECK(flagged.network_symbols == std::vector<std::string>{"connect", "socket"});
    CHECK(audit_network_imports({}).ok);
}

TEST_CASE("Files that are not ELF throw a clear error", "[elf]") {
    CHECK_THAT(error_for(""), Contains("not an ELF file"));
    CHECK_THAT(error_for("\x7f"
                         "EL"),
               Contains("not an ELF file"));
    CHECK_THAT(error_for("#!/bin/sh\necho hello\n"), Contains("not an ELF file"));
    CHECK_THAT(error_for(std::string(4096, '\0')), Contains("not an ELF file"));

    TempDir dir;
    const fs::path missing = dir.path() / "missing.so";
    CHECK_THROWS_WITH(undefined_dynamic_symbols(missing),
                      missing.string() + ": cannot open: No such file or directory");
    CHECK_THROWS_WITH(undefined_dynamic_symbols(dir.path()),
                      dir.path().string() + ": not a regular file");
}

TEST_CASE("Truncated ELF files throw, at every length", "[elf]") {
    CHECK_THAT(error_for("\x7f"
                         "ELF"),
               Contains("truncated"));
    const std::string good = build_elf64(sample).bytes;
    CHECK_THAT(error_for(good.substr(0, 40)), Contains("truncated: ELF header"));
    // The section headers sit at the end, so every proper prefix loses some of them.
    for (std::size_t length = 0; length < good.size(); ++length) {
        INFO("length " << length);
        CHECK_FALSE(error_for(good.substr(0, length)).empty());
    }
    const std::string good32 = build_elf32(sample).bytes;
    for (std::size_t length = 0; length < good32.size(); ++length) {
        INFO("32-bit, length " << length);
        CHECK_FALSE(error_for(good32.substr(0, length)).empty());
    }
}

TEST_CASE("Lying headers throw instead of reading out of bounds", "[elf]") {
    const Image good = build_elf64(sample);
    const std::size_t dynsym_header = good.shoff + 2 * sizeof(Elf64_Shdr);
    const std::size_t dynstr_header = good.shoff + sizeof(Elf64_Shdr);
    auto corrupt = [&](auto change) {
        Image image = good;
        change(image);
        return error_for(image.bytes);
    };
    using E = Elf64_Ehdr;
    using S = Elf64_Shdr;

    CHECK_THAT(corrupt([](Image& i) { i.bytes[EI_CLASS] = 7; }),
               Contains("unsupported ELF class 7"));
    CHECK_THAT(corrupt([](Image& i) { i.bytes[EI_DATA] = 9; }),
               Contains("unsupported ELF byte order 9"));
    CHECK_THAT(corrupt([](Image& i) { i.bytes[EI_VERSION] = 2; }),
               Contains("unsupported ELF version 2"));
    CHECK_THAT(corrupt([](Image& i) { patch<Elf64_Off>(i, offsetof(E, e_shoff), 0); }),
               Contains("no section headers"));
    CHECK_THAT(corrupt([](Image& i) { patch<Elf64_Off>(i, offsetof(E, e_shoff), ~0ULL - 8); }),
               Contains("truncated: section header table"));
    CHECK_THAT(corrupt([](Image& i) { patch<Elf64_Half>(i, offsetof(E, e_shnum), 0xfeff); }),
               Contains("truncated: section header table"));
    CHECK_THAT(corrupt([](Image& i) { patch<Elf64_Half>(i, offsetof(E, e_shentsize), 8); }),
               Contains("bad section header entry size 8"));
    CHECK_THAT(corrupt([&](Image& i) {
                   patch<Elf64_Off>(i, dynsym_header + offsetof(S, sh_offset), 1ULL << 40);
               }),
               Contains("truncated: .dynsym (section 2)"));
    CHECK_THAT(corrupt([&](Image& i) {
                   patch<Elf64_Xword>(i, dynsym_header + offsetof(S, sh_size),
                                      24ULL << 50);  // whole entries, far too many
               }),
               Contains("truncated: .dynsym"));
    CHECK_THAT(
        corrupt([&](Image& i) { patch<Elf64_Xword>(i, dynsym_header + offsetof(S, sh_size), 25); }),
        Contains("not a whole number of entries"));
    CHECK_THAT(corrupt([&](Image& i) {
                   patch<Elf64_Xword>(i, dynsym_header + offsetof(S, sh_entsize), 0);
               }),
               Contains("bad entry size 0"));
    CHECK_THAT(
        corrupt([&](Image& i) { patch<Elf64_Word>(i, dynsym_header + offsetof(S, sh_link), 3); }),
        Contains("string table index 3 out of range"));
    CHECK_THAT(
        corrupt([&](Image& i) { patch<Elf64_Word>(i, dynsym_header + offsetof(S, sh_link), 2); }),
        Contains("linked section 2 is not a string table"));
    CHECK_THAT(corrupt([&](Image& i) {
                   patch<Elf64_Xword>(i, dynstr_header + offsetof(S, sh_size), 1ULL << 62);
               }),
               Contains("truncated: its string table"));
    CHECK_THAT(corrupt([&](Image& i) {  // the last name loses its terminating NUL
                   patch<Elf64_Xword>(i, dynstr_header + offsetof(S, sh_size), i.dynstr_size - 1);
               }),
               Contains("unterminated name"));
    CHECK_THAT(corrupt([&](Image& i) {
                   patch<Elf64_Word>(i, i.dynsym_offset + sizeof(Elf64_Sym), 0x7fffffff);
               }),
               Contains("symbol 1: name offset 2147483647 outside the string table"));
}

TEST_CASE("Random corruption of an ELF image never crashes the reader", "[elf]") {
    // Run under ASan/UBSan: every outcome is a list or a runtime_error, never a bad read.
    const std::string good = build_elf64(sample).bytes;
    std::mt19937 rng(20240601);  // fixed seed: the same cases every run
    TempDir dir;
    int thrown = 0;
    for (int round = 0; round < 500; ++round) {
        std::string bytes = good;
        const int flips = 1 + static_cast<int>(rng() % 8);
        for (int f = 0; f < flips; ++f)
            bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
        try {
            (void)undefined_dynamic_symbols(dir.write("fuzz.so", bytes));
        } catch (const std::runtime_error&) {
            ++thrown;
        }
    }
    CHECK(thrown > 0);
}
