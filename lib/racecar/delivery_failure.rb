# frozen_string_literal: true

module Racecar
  # Turns librdkafka delivery failures into a MessageDeliveryError whose
  # message says what probably went wrong.
  module DeliveryFailure
    HINTS = {
      msg_timed_out: "the broker did not acknowledge it within message_timeout; is the broker reachable?",
      timed_out: "the broker did not answer in time; is it reachable?",
      msg_size_too_large: "the message is larger than the broker or topic accepts (message.max.bytes)",
      unknown_topic_or_part: "the topic or partition does not exist; create it first",
      unknown_partition: "the partition does not exist for this topic",
      unknown_topic: "the topic does not exist; create it first",
      topic_authorization_failed: "this client is not authorized to write to the topic",
      cluster_authorization_failed: "this client is not authorized on the cluster",
      queue_full: "the local producer queue is full (queue.buffering.max.messages)",
      purge_queue: "the producer was closed before the message was sent",
      purge_inflight: "the producer was closed while the message was in flight",
      topic_exception: "the topic name is not valid (letters, digits, '.', '_' and '-', at most 249 characters)",
    }.freeze

    # Failures that only say "no answer in time": the cause is in the
    # producer's last connection error (a wrong CA, wrong credentials, a
    # refused connection), which the error message then quotes.
    TIMEOUTS = %i[msg_timed_out timed_out].freeze

    module_function

    # failures: [[topic, partition, code, description], ...] from a tracker;
    # last_error: what the brokers last answered the producer, if recent.
    def error_for(failures, last_error = nil)
      topic, partition, code, description = failures.first
      more = failures.size > 1 ? " (and #{failures.size - 1} more failed)" : ""
      more += last_error_clause(last_error) if TIMEOUTS.include?(code)
      build("Failed to deliver a message to", topic, partition, code, description, more)
    end

    # librdkafka refused the message before queueing it (produce raised).
    def rejected(topic, partition, code, description)
      build("Could not produce a message to", topic, partition, code, description, "")
    end

    # Messages still unacknowledged when the wait gave up.
    def not_acknowledged(pending, seconds, last_error = nil)
      text = "#{pending} message(s) were not acknowledged within #{seconds}s; #{HINTS[:msg_timed_out]}"
      MessageDeliveryError.new(text + last_error_clause(last_error), code: :msg_timed_out)
    end

    def last_error_clause(last_error)
      last_error ? " (last error from the brokers: #{last_error})" : ""
    end

    # A negative partition means librdkafka had not chosen one yet.
    def build(prefix, topic, partition, code, description, suffix)
      partition = nil if partition.is_a?(Integer) && partition.negative?
      where = partition.nil? ? topic.to_s : "#{topic}/#{partition}"
      text = "#{prefix} #{where}: #{description} (#{code})"
      hint = HINTS[code]
      text += "; #{hint}" if hint
      MessageDeliveryError.new(text + suffix, code: code, topic: topic, partition: partition)
    end
  end
end
