#include "nodes/key_sync.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>

#include "admin.pb.h"
#include "portnums.pb.h"
#include "radio/node_id.hpp"

namespace meshbot::nodes {

KeySync::KeySync(boost::asio::any_io_executor executor, const config::AppConfig& config,
                 NodeStore& store, Sender send, IdSource reserve_id)
    : config_(config),
      store_(store),
      send_(std::move(send)),
      reserve_id_(std::move(reserve_id)),
      timer_(executor) {}

void KeySync::on_ready(const radio::RadioInfo& radio) {
    view_.rebuild(radio);
    pushed_.clear();
    ready_ = true;
    const KeyDiff d = diff();
    spdlog::info(
        "key sync: the radio holds keys for {} of its {} nodes; the store pins {} keys, of "
        "which the radio lacks {} and holds a different one for {} (pushed just in time, "
        "before a DM)",
        view_.keys(), view_.nodes(), d.pinned, d.missing, d.different);
    restore_important();
    checked_store_generation_ = store_.key_generation();
    checked_view_generation_ = view_.generation();
    checked_once_ = true;
    arm_timer();
}

void KeySync::on_down() {
    ready_ = false;
}

void KeySync::arm_timer() {
    if (timer_.expiry() > std::chrono::steady_clock::now()) return;  // already armed
    timer_.expires_after(
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.keys.check_interval));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        check();
        arm_timer();
    });
}

void KeySync::check() {
    const auto store_generation = store_.key_generation();
    const auto view_generation = view_.generation();
    if (checked_once_ && store_generation == checked_store_generation_ &&
        view_generation == checked_view_generation_) {
        ++counters_.checks_skipped;
        spdlog::debug("key check skipped: nothing changed (store generation {}, radio {})",
                      store_generation, view_generation);
        return;
    }
    ++counters_.checks_run;
    checked_store_generation_ = store_generation;
    checked_view_generation_ = view_generation;
    checked_once_ = true;
    const KeyDiff d = diff();
    spdlog::info(
        "key check: {} pinned keys, the radio lacks {} and differs on {}; checks run {}, "
        "skipped {}, keys pushed {}, pushes failed {}",
        d.pinned, d.missing, d.different, counters_.checks_run, counters_.checks_skipped,
        counters_.keys_pushed, counters_.pushes_failed);
    if (ready_) restore_important();
}

KeyDiff KeySync::diff() const {
    KeyDiff d;
    store_.for_each([&](const NodeRecord& node) {
        if (!node.pinned_key || node.num == store_.self_num()) return;
        ++d.pinned;
        if (!view_.has_key(node.num))
            ++d.missing;
        else if (!view_.holds(node.num, *node.pinned_key))
            ++d.different;
    });
    return d;
}

void KeySync::restore_important() {
    const auto restore = [this](std::uint32_t num) {
        const NodeRecord* node = store_.find(num);
        if (node && node->pinned_key && num != store_.self_num() &&
            !view_.holds(num, *node->pinned_key))
            push(*node, "an important node, restored after connecting");
    };
    for (const auto num : config_.commands.admins)
        restore(num);
    for (const auto num : config_.keys.restore)
        restore(num);
}

void KeySync::on_key_accepted(std::uint32_t num) {
    const NodeRecord* node = store_.find(num);
    if (ready_ && node && node->pinned_key && !view_.holds(num, *node->pinned_key))
        push(*node, "the operator accepted its new key");
}

bool KeySync::needs_key(const pb::MeshPacket& packet) const {
    const std::uint32_t self = store_.self_num();
    if (packet.to() == radio::kBroadcast || packet.to() == 0 || packet.to() == self) return false;
    if (!packet.has_decoded()) return false;
    // The firmware never PKI-encrypts these four (docs/radio-protocol.md §5.2).
    switch (packet.decoded().portnum()) {
        case pb::TRACEROUTE_APP:
        case pb::NODEINFO_APP:
        case pb::ROUTING_APP:
        case pb::POSITION_APP:
            return false;
        default:
            return true;
    }
}

void KeySync::push(const NodeRecord& node, const char* why) {
    // Our node number: from the last handshake, kept in the store across restarts.
    const std::uint32_t self = store_.self_num();
    if (self == 0 || !node.pinned_key) return;  // never an empty key: it would erase the radio's
    if (auto it = pushed_.find(node.num); it != pushed_.end() && it->second == *node.pinned_key)
        return;
    pushed_.insert_or_assign(node.num, *node.pinned_key);
    pb::AdminMessage admin;
    auto* contact = admin.mutable_add_contact();
    contact->set_node_num(node.num);
    auto* user = contact->mutable_user();
    user->set_id(radio::node_id(node.num));
    user->set_long_name(node.long_name);
    user->set_short_name(node.short_name);
    user->set_hw_model(node.hw_model);
    user->set_role(static_cast<pb::Role>(node.role));
    user->set_public_key(std::string(key_bytes(*node.pinned_key)));

    pb::MeshPacket packet;
    packet.set_to(self);
    packet.set_want_ack(true);
    packet.mutable_decoded()->set_portnum(pb::ADMIN_APP);
    packet.mutable_decoded()->set_payload(admin.SerializeAsString());
    spdlog::info("pushing the key of {} to the radio with add_contact ({})",
                 radio::node_id(node.num), why);
    const std::uint32_t num = node.num;
    const PublicKey key = *node.pinned_key;
    send_(std::move(packet), [this, num, key](const radio::SendResult& r) {
        using S = radio::SendResult::Status;
        if (r.status == S::reissued) return;
        if (r.status == S::acked || r.status == S::sent) {
            view_.on_pushed(num, key);
            ++counters_.keys_pushed;
            return;
        }
        ++counters_.pushes_failed;
        pushed_.erase(num);  // a later DM may try again
        spdlog::warn("add_contact for {} failed ({}, routing error {})", radio::node_id(num),
                     radio::to_string(r.status), r.routing_error);
    });
}

std::uint32_t KeySync::send(pb::MeshPacket packet, radio::SendCallback done) {
    if (!needs_key(packet)) return send_(std::move(packet), std::move(done));
    const std::uint32_t to = packet.to();
    const NodeRecord* node = store_.find(to);
    const bool trusted = node != nullptr && node->pinned_key.has_value();
    // Before the first handshake there is no view yet: send, and let a NAK say what is missing.
    if (checked_once_) {
        if (!trusted && !view_.has_key(to)) {
            radio::SendResult refused;
            refused.status = radio::SendResult::Status::refused;
            refused.id = reserve_id_ ? reserve_id_() : 0;
            refused.routing_error = pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY;  // what the radio says
            refused.message = "no public key is known for " + radio::node_id(to) +
                              ", so a direct message cannot be encrypted; it has to send its "
                              "node info first";
            spdlog::warn("not sending portnum {} to {}: {}", packet.decoded().portnum(),
                         radio::node_id(to), refused.message);
            // Like every completion: on the event loop, after this call has returned.
            if (done) boost::asio::post(timer_.get_executor(), [done, refused] { done(refused); });
            return refused.id;
        }
        // A node whose key changed gets no push: its pinned key is the one we trust, but it may
        // no longer be the one it uses, and overwriting the radio's copy would settle the
        // question before the operator has.
        if (trusted && node->key_state() == KeyState::pinned && !view_.holds(to, *node->pinned_key))
            push(*node, "just before a DM");
    }
    auto retry = [this, to, copy = packet, done = std::move(done),
                  retried = false](const radio::SendResult& r) mutable {
        const bool no_key = r.status == radio::SendResult::Status::nak &&
                            r.routing_error == pb::Routing::PKI_SEND_FAIL_PUBLIC_KEY;
        if (!no_key || retried) {
            if (done) done(r);
            return;
        }
        // The radio lost the key (evicted, reset): one push and one retry.
        view_.forget(to);
        pushed_.erase(to);
        const NodeRecord* n = store_.find(to);
        if (n == nullptr || n->key_state() != KeyState::pinned) {
            radio::SendResult failed = r;
            failed.message = "the radio has no public key for " + radio::node_id(to) +
                             (n && n->key_state() == KeyState::changed
                                  ? " and its key changed: an operator must accept it first"
                                  : " and neither has the bot");
            if (done) done(failed);
            return;
        }
        retried = true;
        push(*n, "the radio answered PKI_SEND_FAIL_PUBLIC_KEY");
        const std::uint32_t old_id = r.id;
        copy.clear_id();
        auto again = std::move(copy);
        auto self_done = std::move(done);
        const std::uint32_t new_id = send_(std::move(again), self_done);
        // Refused (outbox full): the sender completes `self_done` with the refusal, and that
        // is the request's one end.
        if (new_id == 0) return;
        if (self_done) {
            radio::SendResult moved;
            moved.status = radio::SendResult::Status::reissued;
            moved.id = old_id;
            moved.reissued_as = new_id;
            self_done(moved);
        }
    };
    return send_(std::move(packet), std::move(retry));
}

}  // namespace meshbot::nodes
