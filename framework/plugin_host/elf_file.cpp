#include "plugin_host/elf_file.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <stdexcept>
#include <system_error>

namespace meshbot::plugins::elf {
namespace {

namespace fs = std::filesystem;

// The section header table of one ELF class, converted to Section.
template <typename Ehdr, typename Shdr>
std::vector<Section> read_sections(ElfFile& file, bool swap, const std::string& purpose) {
    Ehdr header;
    file.read(0, sizeof header, &header, "ELF header");
    const std::uint64_t shoff = host_order(header.e_shoff, swap);
    const std::uint64_t shentsize = host_order(header.e_shentsize, swap);
    std::uint64_t shnum = host_order(header.e_shnum, swap);

    if (shoff == 0) file.fail("no section headers, " + purpose);
    if (shentsize < sizeof(Shdr))
        file.fail("bad section header entry size " + std::to_string(shentsize));

    auto section_at = [&](const std::vector<char>& table, std::uint64_t index) {
        const Shdr s = copy_out<Shdr>(table, index * shentsize);
        return Section{host_order(s.sh_type, swap), host_order(s.sh_offset, swap),
                       host_order(s.sh_size, swap), host_order(s.sh_link, swap),
                       host_order(s.sh_info, swap), host_order(s.sh_entsize, swap)};
    };
    // More than 0xff00 sections: e_shnum is 0 and the real count is section 0's sh_size.
    if (shnum == 0) {
        const auto first = file.read(shoff, shentsize, "section header 0");
        shnum = section_at(first, 0).size;
        if (shnum == 0) file.fail("no section headers, " + purpose);
    }
    if (shoff > file.size() || shnum > (file.size() - shoff) / shentsize)
        file.fail("truncated: section header table (" + std::to_string(shnum) +
                  " entries at offset " + std::to_string(shoff) +
                  ") extends past the end of the file (" + std::to_string(file.size()) + " bytes)");
    const auto table = file.read(shoff, shnum * shentsize, "section header table");
    std::vector<Section> sections;
    sections.reserve(shnum);
    for (std::uint64_t i = 0; i < shnum; ++i)
        sections.push_back(section_at(table, i));
    return sections;
}

}  // namespace

ElfFile::ElfFile(const fs::path& path) : path_(path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec) fail("cannot open: " + ec.message());
    if (!fs::is_regular_file(status)) fail("not a regular file");
    size_ = fs::file_size(path, ec);
    if (ec) fail("cannot open: " + ec.message());
    errno = 0;
    in_.open(path, std::ios::binary);
    if (!in_) fail("cannot open: " + std::generic_category().message(errno ? errno : EIO));

    if (size_ < SELFMAG) fail("not an ELF file");
    read(0, SELFMAG, ident_.data(), "ELF magic");
    if (std::memcmp(ident_.data(), ELFMAG, SELFMAG) != 0) fail("not an ELF file");
    read(0, EI_NIDENT, ident_.data(), "ELF identification");
}

bool ElfFile::swap() const {
    if (ident_[EI_VERSION] != EV_CURRENT)
        fail("unsupported ELF version " + std::to_string(ident_[EI_VERSION]));
    const bool little = ident_[EI_DATA] == ELFDATA2LSB;
    if (!little && ident_[EI_DATA] != ELFDATA2MSB)
        fail("unsupported ELF byte order " + std::to_string(ident_[EI_DATA]));
    if (ident_[EI_CLASS] != ELFCLASS32 && ident_[EI_CLASS] != ELFCLASS64)
        fail("unsupported ELF class " + std::to_string(ident_[EI_CLASS]));
    return little != (std::endian::native == std::endian::little);
}

void ElfFile::fail(const std::string& problem) const {
    throw std::runtime_error(path_.string() + ": " + problem);
}

void ElfFile::read(std::uint64_t offset, std::uint64_t length, void* out, const std::string& what) {
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

std::vector<char> ElfFile::read(std::uint64_t offset, std::uint64_t length,
                                const std::string& what) {
    std::vector<char> bytes;
    // Validate before allocating: the length comes from the file.
    if (offset <= size_ && length <= size_ - offset) bytes.resize(length);
    read(offset, length, bytes.data(), what);
    return bytes;
}

std::vector<Section> ElfFile::sections(const std::string& purpose) {
    const bool swapped = swap();
    if (is_64bit()) return read_sections<Elf64_Ehdr, Elf64_Shdr>(*this, swapped, purpose);
    return read_sections<Elf32_Ehdr, Elf32_Shdr>(*this, swapped, purpose);
}

std::string string_at(const ElfFile& file, const std::vector<char>& table, std::uint64_t offset,
                      const std::string& what) {
    if (offset >= table.size())
        file.fail(what + ": name offset " + std::to_string(offset) + " outside the string table");
    const auto begin = table.begin() + static_cast<std::ptrdiff_t>(offset);
    const auto end = std::find(begin, table.end(), '\0');
    if (end == table.end()) file.fail(what + ": unterminated name");
    return std::string(begin, end);
}

}  // namespace meshbot::plugins::elf
