// The compatibility checks run before a plugin is opened (elf_compat.hpp), on forged copies of
// the echo plugin as built here: another machine, another OS/ABI, a glibc or libstdc++ version
// this system lacks, and lying version sections.
#include <catch2/catch.hpp>

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugin_host/elf_compat.hpp"
#include "support/elf_forge.hpp"
#include "support/temp_dir.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using namespace meshbot::plugins;
using namespace meshbot::testing;
namespace fs = std::filesystem;

namespace {

const fs::path built_echo = fs::path(MESHBOT_BUILT_PLUGINS_DIR) / "echo" / "echo.so";

// A copy of the built echo plugin in `dir`, to forge.
fs::path echo_copy(const TempDir& dir) {
    REQUIRE(fs::is_regular_file(built_echo));
    const fs::path copy = dir.path() / "echo.so";
    fs::copy_file(built_echo, copy, fs::copy_options::overwrite_existing);
    return copy;
}

std::string file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Where the section of `type` lies in a (trusted, 64-bit little-endian) image: {offset, size}.
std::pair<std::size_t, std::size_t> section_bytes(const std::string& image, std::uint32_t type) {
    Elf64_Ehdr header;
    std::memcpy(&header, image.data(), sizeof header);
    for (std::size_t i = 0; i < header.e_shnum; ++i) {
        Elf64_Shdr section;
        std::memcpy(&section, image.data() + header.e_shoff + i * header.e_shentsize,
                    sizeof section);
        if (section.sh_type == type) return {section.sh_offset, section.sh_size};
    }
    FAIL("no section of type " << type);
    return {};
}

// "" when `check` returns, its message when it throws a runtime_error.
template <typename Check>
std::string error_of(Check check) {
    try {
        check();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("A plugin built here fits this system", "[elf][compat]") {
    CHECK(elf_incompatibility(built_echo) == "");
    CHECK(foreign_machine(built_echo) == "");
    CHECK(foreign_os_abi(built_echo) == "");
    CHECK(missing_versions(built_echo).empty());

    // What it needs of libc is what this system's libc defines.
    const auto needs = needed_versions(built_echo);
    const auto libc = system_library("libc.so.6");
    REQUIRE_FALSE(libc.empty());
    const auto defined = defined_versions(libc);
    CHECK(std::find(defined.begin(), defined.end(), "libc.so.6") == defined.end());  // base
    int from_libc = 0;
    for (const auto& need : needs) {
        if (need.library != "libc.so.6") continue;
        ++from_libc;
        CHECK_THAT(need.version, StartsWith("GLIBC_"));
        CHECK(std::find(defined.begin(), defined.end(), need.version) != defined.end());
    }
    CHECK(from_libc > 0);
}

TEST_CASE("System libraries are found where the loader finds them", "[elf][compat]") {
    const auto libc = system_library("libc.so.6");
    REQUIRE_FALSE(libc.empty());
    CHECK(libc.filename() == "libc.so.6");
    CHECK(foreign_machine(libc) == "");
    const auto defined = defined_versions(libc);
    CHECK(std::any_of(defined.begin(), defined.end(),
                      [](const std::string& v) { return v.rfind("GLIBC_2.", 0) == 0; }));
    CHECK(system_library("libmeshbot-does-not-exist.so.7").empty());
    CHECK(system_library("../libc.so.6").empty());
    CHECK(system_library("").empty());
}

TEST_CASE("A copy built for another machine names both machines", "[elf][compat]") {
    TempDir dir;
    const auto so = echo_copy(dir);
#if defined(__x86_64__)
    forge_machine(so, EM_AARCH64);
    CHECK(elf_incompatibility(so) == "built for aarch64, this machine is x86_64");
#else
    forge_machine(so, EM_X86_64);
    CHECK_THAT(elf_incompatibility(so), StartsWith("built for x86_64, this machine is "));
#endif
}

TEST_CASE("A copy built for another OS names it", "[elf][compat]") {
    TempDir dir;
    const auto so = echo_copy(dir);
    forge_ident(so, EI_OSABI, ELFOSABI_FREEBSD);
    CHECK(foreign_os_abi(so) == "built for FreeBSD, this machine runs Linux");
    CHECK(elf_incompatibility(so) == "built for FreeBSD, this machine runs Linux");

    forge_ident(so, EI_OSABI, ELFOSABI_GNU);  // GNU/Linux: what IFUNC users are marked with
    CHECK(elf_incompatibility(so) == "");
    forge_ident(so, EI_OSABI, 77);
    CHECK(foreign_os_abi(so) == "built for ELF OS/ABI 77, this machine runs Linux");

    // Every reason is given, joined.
    forge_ident(so, EI_OSABI, ELFOSABI_OPENBSD);
    forge_machine(so, EM_RISCV);
    CHECK_THAT(elf_incompatibility(so), StartsWith("built for riscv, this machine is "));
    CHECK_THAT(elf_incompatibility(so), Contains("; built for OpenBSD, this machine runs Linux"));
}

TEST_CASE("A copy that needs a newer glibc says which, and what this system has", "[elf][compat]") {
    TempDir dir;
    const auto so = echo_copy(dir);
    const std::string forged = forge_needed_version(so, "GLIBC_2.");
    REQUIRE_FALSE(forged.empty());
    INFO("forged " << forged);

    const auto needs = needed_versions(so);
    CHECK(std::any_of(needs.begin(), needs.end(), [&](const VersionNeed& need) {
        return need.library == "libc.so.6" && need.version == forged;
    }));
    // This system's newest GLIBC_2.x, as the message should name it.
    std::string newest;
    std::vector<int> newest_numbers;
    for (const auto& version : defined_versions(system_library("libc.so.6"))) {
        if (version.rfind("GLIBC_2.", 0) != 0) continue;
        std::vector<int> numbers;
        std::istringstream parts(version.substr(6));
        for (std::string part; std::getline(parts, part, '.');)
            numbers.push_back(std::stoi(part));
        if (numbers > newest_numbers) {
            newest_numbers = numbers;
            newest = version;
        }
    }
    REQUIRE_FALSE(newest.empty());
    CHECK(elf_incompatibility(so) == "needs " + forged + " (libc.so.6), this system has " + newest);
}

TEST_CASE("A copy that needs a newer libstdc++ says which", "[elf][compat]") {
    TempDir dir;
    const auto so = echo_copy(dir);
    const std::string forged = forge_needed_version(so, "GLIBCXX_3.4.");
    if (forged.empty()) {  // a plugin that uses nothing versioned of libstdc++
        SUCCEED("echo.so needs no GLIBCXX_3.4.x version");
        return;
    }
    CHECK_THAT(elf_incompatibility(so), StartsWith("needs " + forged +
                                                   " (libstdc++.so.6), this system's newest is "
                                                   "GLIBCXX_3.4."));
}

TEST_CASE("Lying version sections throw instead of reading out of bounds", "[elf][compat]") {
    TempDir dir;
    const auto so = echo_copy(dir);
    const std::string good = file_bytes(so);
    const auto [offset, size] = section_bytes(good, SHT_GNU_verneed);
    REQUIRE(size >= sizeof(Elf64_Verneed));
    auto with = [&](std::size_t at, auto value) {
        std::string bytes = good;
        std::memcpy(bytes.data() + offset + at, &value, sizeof value);
        write_bytes(so, bytes);
        return error_of([&] { (void)needed_versions(so); });
    };
    CHECK_THAT(with(offsetof(Elf64_Verneed, vn_version), Elf64_Half{7}),
               Contains(".gnu.version_r (section ") && Contains("unsupported version 7"));
    CHECK_THAT(with(offsetof(Elf64_Verneed, vn_next), Elf64_Word{0x7fffffff}),
               Contains("extends past the section"));
    CHECK_THAT(with(offsetof(Elf64_Verneed, vn_aux), Elf64_Word{0xfffffff0}),
               Contains("extends past the section"));
    CHECK_THAT(with(offsetof(Elf64_Verneed, vn_file), Elf64_Word{0x7fffffff}),
               Contains("outside the string table"));

    // Random damage to the section: a list or a runtime_error, never a bad read (ASan build).
    std::uint32_t seed = 20250601;  // fixed: the same cases every run
    auto next = [&] { return seed = seed * 1664525U + 1013904223U; };
    for (int round = 0; round < 200; ++round) {
        std::string bytes = good;
        for (int flip = 0; flip < 4; ++flip)
            bytes[offset + next() % size] = static_cast<char>(next() >> 24);
        write_bytes(so, bytes);
        try {
            (void)needed_versions(so);
            (void)elf_incompatibility(so);
        } catch (const std::runtime_error&) {
        }
    }
    write_bytes(so, good);
    CHECK(elf_incompatibility(so) == "");
}

TEST_CASE("Files that are not ELF throw from every check", "[elf][compat]") {
    TempDir dir;
    const auto text = dir.write("text.so", "#!/bin/sh\n");
    CHECK_THAT(error_of([&] { (void)elf_incompatibility(text); }), Contains("not an ELF file"));
    CHECK_THAT(error_of([&] { (void)needed_versions(text); }), Contains("not an ELF file"));
    const auto truncated = dir.write("short.so", file_bytes(built_echo).substr(0, 100));
    CHECK_THAT(error_of([&] { (void)needed_versions(truncated); }), Contains("truncated"));
}
