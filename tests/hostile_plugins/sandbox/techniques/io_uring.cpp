// attack_io_uring: the kernel makes the socket and the connection (IORING_OP_SOCKET and
// IORING_OP_CONNECT), asked through shared memory rather than system calls of those names, so
// a filter on socket() and connect() never sees them. liburing is not needed: the rings are set
// up by hand with io_uring_setup, mmap and io_uring_enter.
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "../attack.hpp"

namespace {

// One io_uring instance with its three mappings; submits one entry at a time and waits for it.
class Ring {
public:
    Ring() {
        io_uring_params params{};
        fd_ = static_cast<int>(::syscall(__NR_io_uring_setup, 4, &params));
        if (fd_ < 0) {
            error_ = errno;
            return;
        }
        sq_size_ = params.sq_off.array + params.sq_entries * sizeof(unsigned);
        cq_size_ = params.cq_off.cqes + params.cq_entries * sizeof(io_uring_cqe);
        if (params.features & IORING_FEAT_SINGLE_MMAP)
            sq_size_ = cq_size_ = std::max(sq_size_, cq_size_);
        sq_ = map(sq_size_, IORING_OFF_SQ_RING);
        cq_ = (params.features & IORING_FEAT_SINGLE_MMAP) ? sq_ : map(cq_size_, IORING_OFF_CQ_RING);
        sqes_size_ = params.sq_entries * sizeof(io_uring_sqe);
        sqes_ = static_cast<io_uring_sqe*>(map(sqes_size_, IORING_OFF_SQES));
        if (sq_ == nullptr || cq_ == nullptr || sqes_ == nullptr) return;
        sq_tail_ = field(sq_, params.sq_off.tail);
        sq_mask_ = field(sq_, params.sq_off.ring_mask);
        sq_array_ = field(sq_, params.sq_off.array);
        cq_head_ = field(cq_, params.cq_off.head);
        cq_tail_ = field(cq_, params.cq_off.tail);
        cq_mask_ = field(cq_, params.cq_off.ring_mask);
        cqes_ = reinterpret_cast<io_uring_cqe*>(static_cast<char*>(cq_) + params.cq_off.cqes);
        ready_ = true;
    }
    ~Ring() {
        if (sqes_ != nullptr) ::munmap(sqes_, sqes_size_);
        if (cq_ != nullptr && cq_ != sq_) ::munmap(cq_, cq_size_);
        if (sq_ != nullptr) ::munmap(sq_, sq_size_);
        if (fd_ >= 0) ::close(fd_);
    }
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // 0 when the rings are usable, else why not.
    int error() const { return ready_ ? 0 : (error_ != 0 ? error_ : ENOMEM); }

    // Submits `entry`, waits for its completion and returns its result (>= 0, or -errno).
    int submit(const io_uring_sqe& entry) {
        const unsigned tail = std::atomic_ref<unsigned>(*sq_tail_).load(std::memory_order_acquire);
        const unsigned index = tail & *sq_mask_;
        sqes_[index] = entry;
        sq_array_[index] = index;
        std::atomic_ref<unsigned>(*sq_tail_).store(tail + 1, std::memory_order_release);
        if (::syscall(__NR_io_uring_enter, fd_, 1, 1, IORING_ENTER_GETEVENTS, nullptr, 0) < 0)
            return -errno;
        const unsigned head = std::atomic_ref<unsigned>(*cq_head_).load(std::memory_order_acquire);
        if (head == std::atomic_ref<unsigned>(*cq_tail_).load(std::memory_order_acquire))
            return -EAGAIN;
        const int result = cqes_[head & *cq_mask_].res;
        std::atomic_ref<unsigned>(*cq_head_).store(head + 1, std::memory_order_release);
        return result;
    }

private:
    void* map(std::size_t size, long long offset) {
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_,
                         static_cast<off_t>(offset));
        if (p == MAP_FAILED) {
            error_ = errno;
            return nullptr;
        }
        return p;
    }
    static unsigned* field(void* base, unsigned offset) {
        return reinterpret_cast<unsigned*>(static_cast<char*>(base) + offset);
    }

    int fd_ = -1;
    int error_ = 0;
    bool ready_ = false;
    std::size_t sq_size_ = 0, cq_size_ = 0, sqes_size_ = 0;
    void* sq_ = nullptr;
    void* cq_ = nullptr;
    io_uring_sqe* sqes_ = nullptr;
    unsigned *sq_tail_ = nullptr, *sq_mask_ = nullptr, *sq_array_ = nullptr;
    unsigned *cq_head_ = nullptr, *cq_tail_ = nullptr, *cq_mask_ = nullptr;
    io_uring_cqe* cqes_ = nullptr;
};

int uring_dial(Ring& ring, const attack::Address& address) {
    io_uring_sqe socket_entry{};
    socket_entry.opcode = IORING_OP_SOCKET;
    socket_entry.fd = address.family();  // domain
    socket_entry.off = SOCK_STREAM;      // type
    const int fd = ring.submit(socket_entry);
    if (fd < 0) return -fd;
    io_uring_sqe connect_entry{};
    connect_entry.opcode = IORING_OP_CONNECT;
    connect_entry.fd = fd;
    connect_entry.addr = reinterpret_cast<std::uintptr_t>(address.get());
    connect_entry.off = address.length;
    const int rc = ring.submit(connect_entry);
    ::close(fd);
    return rc < 0 ? -rc : 0;
}

}  // namespace

void attack::run(const Targets& targets) {
    Ring ring;
    for (const auto& [target, address] : tcp_targets(targets)) {
        if (ring.error() != 0) {
            blocked(target, std::string("io_uring: ") + std::strerror(ring.error()));
            continue;
        }
        report(target, uring_dial(ring, address));
    }
}
