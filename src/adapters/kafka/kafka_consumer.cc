// The Kafka BusConsumer: a librdkafka group consumer with explicit commits
// and a rebalance callback, served on the thread that calls Poll.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <utility>

#include "adapters/kafka/kafka_clients.h"

namespace flare::kafka {
namespace {

std::vector<int32_t> Partitions(const rd_kafka_topic_partition_list_t* list) {
  std::vector<int32_t> out;
  for (int i = 0; i < list->cnt; ++i) out.push_back(list->elems[i].partition);
  std::sort(out.begin(), out.end());
  return out;
}

// Commit errors meaning this member's generation is over: its partitions
// may already belong to someone else.
bool IsFencedCommit(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
         err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
         err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR__STATE;
}

class KafkaConsumer final : public BusConsumer {
 public:
  KafkaConsumer(bool start_at_latest, int lookup_timeout_ms)
      : start_at_latest_(start_at_latest), lookup_timeout_ms_(lookup_timeout_ms) {}
  ~KafkaConsumer() override {
    (void)Close();
    if (rk_ != nullptr) rd_kafka_destroy(rk_);
  }

  void Attach(rd_kafka_t* rk) {
    rk_ = rk;
    rd_kafka_poll_set_consumer(rk_);  // one queue: Poll serves callbacks too
  }

  Status Subscribe(const std::string& topic, BusConsumerListener* listener) override {
    if (!topic_.empty()) return InvalidArgument("event bus: consumer already subscribed");
    topic_ = topic;
    listener_ = listener;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Unavailable("kafka subscribe '" + topic + "': " + rd_kafka_err2str(err));
    }
    return Status::Ok();
  }

  Result<std::vector<BusRecord>> Poll(int max_records, int timeout_ms) override {
    if (topic_.empty() || closed_)
      return InvalidArgument("event bus: poll on a consumer not subscribed or closed");
    if (!pending_error_.ok()) return std::exchange(pending_error_, Status::Ok());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    batch_.clear();
    while (static_cast<int>(batch_.size()) < max_records) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      // Wait only for the first record; then take what is already fetched.
      int wait = batch_.empty() ? static_cast<int>(std::max<int64_t>(left, 0)) : 0;
      rd_kafka_message_t* message = rd_kafka_consumer_poll(rk_, wait);
      if (message == nullptr) {
        if (!batch_.empty() || left <= 0) break;
        continue;
      }
      Status st = Take(message);
      rd_kafka_message_destroy(message);
      if (!st.ok()) {
        // The fetch position is past the records taken: they go back now,
        // the error with the next Poll (else a later commit would skip them).
        if (batch_.empty()) return st;
        pending_error_ = std::move(st);
        break;
      }
    }
    return std::move(batch_);
  }

  Status Commit(int32_t partition, int64_t next_offset) override {
    if (!assigned_.count(partition)) {
      return Aborted("event bus: partition " + std::to_string(partition) +
                     " is not assigned to this consumer");
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), partition)->offset = next_offset;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, 0 /* synchronous */);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      err = list->elems[0].err;
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
    std::string what =
        "kafka commit of partition " + std::to_string(partition) + ": " + rd_kafka_err2str(err);
    return IsFencedCommit(err) ? Aborted(what) : Unavailable(what);
  }

  // The high watermarks are librdkafka's cached ones (from fetch
  // responses); the position is the offset after the last record it handed
  // to Poll or, for a partition nothing was read from since it was
  // assigned, where reading starts (StartOffsets).
  std::map<int32_t, int64_t> Lag() override {
    std::map<int32_t, int64_t> lag;
    if (closed_ || rk_ == nullptr || assigned_.empty()) return lag;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(assigned_.size()));
    for (int32_t p : assigned_) rd_kafka_topic_partition_list_add(list, topic_.c_str(), p);
    if (rd_kafka_position(rk_, list) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::vector<int32_t> unread;
      for (int i = 0; i < list->cnt; ++i) {
        if (list->elems[i].offset < 0) unread.push_back(list->elems[i].partition);
      }
      if (!unread.empty()) StartOffsets(unread);
      for (int i = 0; i < list->cnt; ++i) {
        const rd_kafka_topic_partition_t& tp = list->elems[i];
        int64_t position = tp.offset;
        if (position < 0) {
          auto known = start_offsets_.find(tp.partition);
          if (known == start_offsets_.end()) continue;
          position = known->second;
        }
        int64_t low = 0, high = 0;
        if (rd_kafka_get_watermark_offsets(rk_, topic_.c_str(), tp.partition, &low, &high) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            high < 0) {
          continue;
        }
        lag[tp.partition] = std::max<int64_t>(high - position, 0);
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
    return lag;
  }

  // Leaves the group; librdkafka revokes the assignment through OnRebalance
  // first, so the listener hears OnRevoked on this thread.
  Status Close() override {
    if (closed_ || rk_ == nullptr) return Status::Ok();
    closed_ = true;
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Unavailable(std::string("kafka consumer close: ") + rd_kafka_err2str(err));
    }
    return Status::Ok();
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<KafkaConsumer*>(opaque)->Rebalance(rk, err, partitions);
  }

 private:
  // Eager protocol: each rebalance revokes the whole assignment and then
  // assigns the new one. Records of a revoked partition that this Poll has
  // gathered but not returned are dropped: they are uncommitted, so the
  // partition's next owner (maybe this consumer again) reads them again.
  void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions) {
    std::vector<int32_t> list = Partitions(partitions);
    start_offsets_.clear();  // asked again for the new assignment
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (start_at_latest_) StartUncommittedAtEnd(rk, partitions);
      if (listener_ != nullptr && !list.empty()) listener_->OnAssigned(list);
      assigned_.insert(list.begin(), list.end());
      rd_kafka_assign(rk, partitions);
      return;
    }
    std::erase_if(batch_, [&](const BusRecord& r) {
      return std::find(list.begin(), list.end(), r.partition) != list.end();
    });
    if (listener_ != nullptr && !list.empty()) listener_->OnRevoked(list);
    for (int32_t p : list) assigned_.erase(p);
    rd_kafka_assign(rk, nullptr);
  }

  // Where reading starts in `partitions` (nothing read from them since
  // their assignment): the group's committed offset, else the low
  // watermark (auto.offset.reset = earliest), or the high one for a
  // consumer that starts at the latest offset. The committed offsets take
  // one round trip to the group coordinator, once per assignment; what is
  // not known yet is left out and asked again next time.
  void StartOffsets(const std::vector<int32_t>& partitions) {
    std::vector<int32_t> ask;
    for (int32_t p : partitions) {
      if (!start_offsets_.count(p)) ask.push_back(p);
    }
    if (ask.empty()) return;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(ask.size()));
    for (int32_t p : ask) rd_kafka_topic_partition_list_add(list, topic_.c_str(), p);
    constexpr int kCommittedTimeoutMs = 200;
    if (rd_kafka_committed(rk_, list, kCommittedTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < list->cnt; ++i) {
        const rd_kafka_topic_partition_t& tp = list->elems[i];
        if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        int64_t low = 0, high = 0;
        if (tp.offset >= 0) {
          start_offsets_[tp.partition] = tp.offset;
        } else if (rd_kafka_get_watermark_offsets(rk_, topic_.c_str(), tp.partition, &low, &high) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR &&
                   low >= 0) {
          start_offsets_[tp.partition] = start_at_latest_ ? high : low;
        }
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  // Partitions the group has no committed offset for start at their end as
  // of now, not whenever the fetcher looks the end up (auto.offset.reset
  // alone), so every record published after OnAssigned is read. If a
  // look-up fails, auto.offset.reset=latest decides.
  void StartUncommittedAtEnd(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* partitions) {
    if (rd_kafka_committed(rk, partitions, lookup_timeout_ms_) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& p = partitions->elems[i];
      if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR && p.offset >= 0) continue;  // committed
      int64_t low = 0, high = 0;
      bool found =
          rd_kafka_query_watermark_offsets(rk, p.topic, p.partition, &low, &high,
                                           lookup_timeout_ms_) == RD_KAFKA_RESP_ERR_NO_ERROR;
      p.offset = found ? high : RD_KAFKA_OFFSET_INVALID;
      p.err = RD_KAFKA_RESP_ERR_NO_ERROR;
    }
  }

  Status Take(const rd_kafka_message_t* message) {
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      BusRecord record;
      record.topic = rd_kafka_topic_name(message->rkt);
      record.partition = message->partition;
      record.offset = message->offset;
      if (message->key) record.key.assign(static_cast<const char*>(message->key), message->key_len);
      if (message->payload) {
        record.value.assign(static_cast<const char*>(message->payload), message->len);
      }
      batch_.push_back(std::move(record));
      return Status::Ok();
    }
    // Transient consumer errors (a broker down, a partition EOF) are
    // reported as messages while librdkafka recovers; only fatal ones end.
    char reason[512];
    if (rd_kafka_fatal_error(rk_, reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Internal(std::string("kafka consumer failed fatally: ") + reason);
    }
    if (message->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && message->rkt != nullptr) {
      return NotFound("kafka topic '" + topic_ + "' does not exist");
    }
    return Status::Ok();
  }

  const bool start_at_latest_;
  const int lookup_timeout_ms_;
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
  BusConsumerListener* listener_ = nullptr;
  bool closed_ = false;
  std::set<int32_t> assigned_;
  std::vector<BusRecord> batch_;              // the records the current Poll returns
  std::map<int32_t, int64_t> start_offsets_;  // see StartOffsets
  Status pending_error_;                      // met after records were taken; the next Poll's
};

}  // namespace

Result<std::unique_ptr<BusConsumer>> NewConsumer(const KafkaOptions& options,
                                                 const std::string& group_id,
                                                 const ConsumerOptions& consumer_options) {
  const char* reset = consumer_options.start_at_latest ? "latest" : "earliest";
  auto conf = MakeConf(options,
                       {
                           {"group.id", group_id},
                           {"enable.auto.commit", "false"},
                           {"enable.auto.offset.store", "false"},
                           {"auto.offset.reset", reset},
                           {"enable.partition.eof", "false"},
                           {"session.timeout.ms", std::to_string(options.session_timeout_ms)},
                           {"fetch.wait.max.ms", std::to_string(options.fetch_wait_max_ms)},
                           {"heartbeat.interval.ms", std::to_string(options.heartbeat_interval_ms)},
                           {"partition.assignment.strategy", options.assignment_strategy},
                       });
  if (!conf.ok()) return conf.status();
  auto consumer =
      std::make_unique<KafkaConsumer>(consumer_options.start_at_latest, options.startup_timeout_ms);
  rd_kafka_conf_set_opaque(*conf, consumer.get());
  rd_kafka_conf_set_rebalance_cb(*conf, &KafkaConsumer::OnRebalance);
  auto rk = NewClient(RD_KAFKA_CONSUMER, *conf);
  if (!rk.ok()) return rk.status();
  consumer->Attach(*rk);
  return std::unique_ptr<BusConsumer>(std::move(consumer));
}

}  // namespace flare::kafka
