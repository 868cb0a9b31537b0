#pragma once
// Reading an ELF file that may be truncated, corrupt or hostile: the one home of ELF parsing for
// the import audit (elf_audit.cpp) and the compatibility checks (elf_compat.cpp). Every offset,
// size and count the file states is checked against the file before it is used, so a lying
// header gives a clear std::runtime_error "PATH: problem", never a read out of bounds or a giant
// allocation.

#include <elf.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

namespace meshbot::plugins::elf {

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

// A struct copied out of a byte buffer at `offset` (memcpy: the buffer has no alignment
// guarantee for it). The caller has checked that offset + sizeof(T) fits.
template <typename T>
T copy_out(const std::vector<char>& bytes, std::uint64_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

// A section header in host order, with 64-bit fields whatever the file's class.
struct Section {
    std::uint32_t type = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::uint32_t link = 0;
    std::uint32_t info = 0;
    std::uint64_t entsize = 0;
};

// One ELF file opened for reading; its magic is checked on construction. Owns the stream, so one
// thread at a time (each check opens its own).
class ElfFile {
public:
    // Throws "PATH: cannot open: ...", "PATH: not a regular file", "PATH: not an ELF file".
    explicit ElfFile(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return path_; }
    std::uint64_t size() const { return size_; }
    const std::array<unsigned char, EI_NIDENT>& ident() const { return ident_; }

    // Checks the identification a structured read needs (ELF version, byte order, class) and
    // says whether fields need byte-swapping. Throws "unsupported ELF ..." otherwise.
    bool swap() const;
    bool is_64bit() const { return ident_[EI_CLASS] == ELFCLASS64; }

    [[noreturn]] void fail(const std::string& problem) const;

    // Reads [offset, offset + length) into `out`, or throws naming `what` was cut short.
    void read(std::uint64_t offset, std::uint64_t length, void* out, const std::string& what);
    std::vector<char> read(std::uint64_t offset, std::uint64_t length, const std::string& what);

    // The section header table. Without one, throws "no section headers, `purpose`" (e.g.
    // "cannot find .dynsym"): section headers are what these checks read.
    std::vector<Section> sections(const std::string& purpose);

private:
    std::filesystem::path path_;
    std::ifstream in_;
    std::uint64_t size_ = 0;
    std::array<unsigned char, EI_NIDENT> ident_{};
};

// The NUL-terminated string at `offset` of a string table. Throws through `file` naming `what`
// when the offset is outside the table or the string runs off its end.
std::string string_at(const ElfFile& file, const std::vector<char>& table, std::uint64_t offset,
                      const std::string& what);

}  // namespace meshbot::plugins::elf
