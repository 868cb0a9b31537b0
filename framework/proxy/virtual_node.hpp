#pragma once
// The virtual node: a stream-API endpoint that other clients (the phone app, the Python CLI,
// Home Assistant) use instead of the radio, which keeps its one connection, the bot's.
//
//   client --want_config_id--> handshake from the bot's copy of the radio's state
//   radio  --packet---------->  every configured client, in order (answers: only to their asker)
//   client --packet---------->  policy --> its queue (one per port in the outbox at a time)
//                               --> the bot's outbox, under a bot id, where the bot and each
//                               client take turns (the 2 s text budget is shared fairly);
//                               queueStatus, ACK/NAK and responses come back under the
//                               client's own id
//   client --heartbeat------->  queueStatus, answered here; disconnect closes it here

#include <utility>  // before Boost.Asio: 1.74's awaitable.hpp uses std::exchange

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/app_config.hpp"
#include "nodes/node_store.hpp"
#include "proxy/admin_policy.hpp"
#include "proxy/proxy_client.hpp"
#include "radio/radio_link.hpp"
#include "radio/warning_throttle.hpp"

namespace meshbot::proxy {

// A firmware that has not heard from a client for this long closes it (ServerAPI.cpp).
inline constexpr std::chrono::minutes kClientIdleTimeout{15};

// What the status page, `meshbot status` and /metrics show of one client.
struct ClientInfo {
    std::uint64_t number = 0;
    std::string address;
    std::uint64_t since = 0;  // epoch seconds
    bool configured = false;
    std::size_t waiting = 0;       // its packets waiting for the outbox
    std::size_t unread_bytes = 0;  // frames queued for it, not yet written to its socket
    ClientCounters counters;
};

// Since start.
struct ProxyCounters {
    std::uint64_t connections = 0;       // clients admitted
    std::uint64_t turned_away = 0;       // not on the allow-list, or max_clients reached
    std::uint64_t slow_clients = 0;      // disconnected for not reading
    std::uint64_t admin_refused = 0;     // radio-changing admin messages refused
    std::uint64_t queue_refused = 0;     // packets refused because a client's queue was full
    std::uint64_t frames_relayed = 0;    // radio frames written to clients (one per client)
    std::uint64_t packets_to_radio = 0;  // client packets handed to the outbox
};

// Owns the listener and the clients. io_context thread only; the link and the store must
// outlive it.
class VirtualNode {
public:
    // Sends a client's packet through the bot (key sync, then the link's outbox); the callback
    // and the return value as RadioLink::send.
    using SendPacket = std::function<std::uint32_t(pb::MeshPacket, radio::SendCallback)>;

    // `expiry`: how long a client's packet may wait for the radio ([radio] outbox_expiry);
    // `outbox_share`: how many clients' packets may be in the bot's outbox at once, all
    // clients and connections since gone together (half of [radio] outbox_capacity).
    VirtualNode(boost::asio::any_io_executor executor, const config::ProxyConfig& config,
                Clock::duration expiry, std::size_t outbox_share, radio::RadioLink& link,
                const nodes::NodeStore& store, SendPacket send);
    ~VirtualNode();
    VirtualNode(const VirtualNode&) = delete;
    VirtualNode& operator=(const VirtualNode&) = delete;

    // Binds and starts accepting; false (logged) when it cannot: the bot runs without it.
    bool start();
    void stop();
    bool listening() const { return listening_; }
    std::uint16_t port() const;
    std::string endpoint() const;  // "127.0.0.1:4403"

    // Every FromRadio the link decoded (RadioLink::set_message_listener).
    void on_radio_message(const pb::FromRadio& message, const radio::SessionEvent& event);

    std::vector<ClientInfo> clients() const;
    const ProxyCounters& counters() const { return counters_; }

private:
    struct Origin {  // whose packet a bot id is
        std::uint64_t client = 0;
        std::uint32_t client_id = 0;
        std::uint32_t port = 0;
    };

    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> idle_sweep();
    bool admitted(const boost::asio::ip::address& peer) const;
    void on_closed(ProxyClient& client, const std::string& why);

    // client_traffic.cpp
    void on_client_message(ProxyClient& client, const pb::ToRadio& message);
    void on_client_packet(ProxyClient& client, pb::MeshPacket packet);
    void serve_handshake(ProxyClient& client);
    void pump(ProxyClient& client);
    void pump_all();
    void left_outbox(std::uint32_t bot_id);
    void submit(ProxyClient& client, WaitingPacket waiting);
    void on_send_result(std::uint64_t client, std::uint32_t client_id, std::uint32_t port,
                        bool refresh_after, const radio::SendResult& result);
    void refuse(ProxyClient& client, std::uint32_t client_id, int routing_error,
                const std::string& why);
    void route_packet(const pb::MeshPacket& packet);
    void to_owner(const Origin& origin, pb::FromRadio message);
    void to_all(const pb::FromRadio& message, std::uint64_t except = 0);
    void remember(std::uint32_t bot_id, Origin origin);
    const Origin* origin_of(std::uint32_t bot_id) const;
    ProxyClient* client(std::uint64_t number) const;

    boost::asio::any_io_executor executor_;
    const config::ProxyConfig& config_;
    Clock::duration expiry_;
    std::size_t outbox_share_;
    radio::RadioLink& link_;
    const nodes::NodeStore& store_;
    SendPacket send_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer sweep_timer_;
    bool listening_ = false;
    bool stopped_ = false;
    std::uint64_t next_number_ = 1;
    std::map<std::uint64_t, std::shared_ptr<ProxyClient>> clients_;
    // Bot id -> the client packet it carries; the oldest forgotten past kOrigins.
    std::unordered_map<std::uint32_t, Origin> origins_;
    std::deque<std::uint32_t> origin_order_;
    // Bot ids of clients' packets still in the outbox, whether their client is here or gone.
    std::unordered_set<std::uint32_t> in_outbox_;
    ProxyCounters counters_;
    // A client can make these as fast as it writes: the first in full, then a summary a period.
    radio::WarningThrottle admin_warnings_;
    radio::WarningThrottle xmodem_warnings_;
    radio::WarningThrottle turned_away_warnings_;
    // Outlives nothing: send callbacks still queued in the outbox test it before touching us.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace meshbot::proxy
