// hide_dynsym LIBRARY: rewrites a 64-bit little-endian ELF shared library in place so that its
// .dynsym section header says SHT_PROGBITS instead of SHT_DYNSYM. Nothing else changes.
//
// Why: meshbot's import audit (framework/plugin_host/elf_audit.cpp) finds the dynamic symbol
// table by walking the section headers for SHT_DYNSYM; when there is none it reports no
// imports and the plugin passes. The dynamic loader never reads section headers: it finds the
// same table through PT_DYNAMIC (DT_SYMTAB, DT_STRTAB, DT_GNU_HASH) and binds the imports as
// usual. So the rewritten attack_hidden_dynsym imports socket() and connect() by name and still
// passes the audit, which is the point: the audit is a friendly warning, not a defence.
//
// Run again on a library already rewritten, it changes nothing and succeeds (the build may run
// it twice); a library with neither is an error.
#include <elf.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

int fail(const std::string& path, const std::string& why) {
    std::fprintf(stderr, "hide_dynsym: %s: %s\n", path.c_str(), why.c_str());
    return 1;
}

template <typename T>
T read_at(const std::vector<char>& bytes, std::size_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: hide_dynsym LIBRARY\n");
        return 2;
    }
    const std::string path = argv[1];
    std::vector<char> bytes;
    {
        std::ifstream in(path, std::ios::binary);
        if (!in) return fail(path, "cannot open");
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
        return fail(path, "not an ELF file");
    if (bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB)
        return fail(path, "not a 64-bit little-endian ELF file");

    const auto header = read_at<Elf64_Ehdr>(bytes, 0);
    const std::size_t table = header.e_shoff;
    const std::size_t count = header.e_shnum;
    if (header.e_shentsize != sizeof(Elf64_Shdr) || table == 0 ||
        table + count * sizeof(Elf64_Shdr) > bytes.size())
        return fail(path, "no usable section header table");
    if (header.e_shstrndx >= count) return fail(path, "no section name table");
    const auto names = read_at<Elf64_Shdr>(bytes, table + header.e_shstrndx * sizeof(Elf64_Shdr));

    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t at = table + i * sizeof(Elf64_Shdr);
        auto section = read_at<Elf64_Shdr>(bytes, at);
        if (names.sh_offset + section.sh_name >= bytes.size()) continue;
        const char* name = bytes.data() + names.sh_offset + section.sh_name;
        if (std::strncmp(name, ".dynsym", 8) != 0) continue;
        if (section.sh_type == SHT_PROGBITS) return 0;  // already hidden
        if (section.sh_type != SHT_DYNSYM) return fail(path, ".dynsym has an unexpected type");
        section.sh_type = SHT_PROGBITS;
        std::memcpy(bytes.data() + at, &section, sizeof section);
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) return fail(path, "cannot write");
        return 0;
    }
    return fail(path, "no .dynsym section");
}
