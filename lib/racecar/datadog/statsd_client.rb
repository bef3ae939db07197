# frozen_string_literal: true

require "socket"

module Racecar
  module Datadog
    # A small DogStatsD emitter: "name:value|type|#tag:a,tag:b" lines sent as UDP
    # datagrams to host:port, or to the agent's Unix datagram socket when a
    # socket path is given.
    #
    # Metrics are best effort by design: it runs inside the consumer's loop, so a
    # missing, slow or full agent must cost a dropped datagram, never an exception
    # or a blocked thread. Sends are non-blocking, every socket error is rescued,
    # and the socket is reopened lazily (at most once per `retry_interval`).
    class StatsdClient
      DEFAULT_HOST = "127.0.0.1"
      DEFAULT_PORT = 8125
      # Fits an Ethernet MTU, so UDP datagrams are never fragmented.
      UDP_MAX_DATAGRAM_BYTES = 1432
      # The agent's Unix socket reads up to 8 KB per datagram.
      UDS_MAX_DATAGRAM_BYTES = 8192
      # A host that does not resolve is retried less often: each try may wait on DNS.
      RESOLVE_RETRY_INTERVAL = 30.0

      # Counts of what happened to metrics; specs and debugging read them.
      attr_reader :sent_datagrams, :dropped_datagrams, :namespace, :tags

      def initialize(host: nil, port: nil, socket_path: nil, namespace: nil, tags: nil,
                     max_datagram_bytes: nil, retry_interval: 1.0)
        @host = host.nil? || host.to_s.empty? ? DEFAULT_HOST : host.to_s
        @port = port.nil? || port.to_s.empty? ? DEFAULT_PORT : Integer(port)
        @socket_path = socket_path.nil? || socket_path.to_s.empty? ? nil : socket_path.to_s
        @namespace = namespace.nil? || namespace.to_s.empty? ? nil : namespace.to_s
        @prefix = @namespace ? "#{sanitize_name(@namespace)}." : ""
        @tags = self.class.normalize_tags(tags)
        @max_datagram_bytes = max_datagram_bytes || (@socket_path ? UDS_MAX_DATAGRAM_BYTES : UDP_MAX_DATAGRAM_BYTES)
        @retry_interval = retry_interval
        @batch_key = :"racecar_datadog_batch_#{object_id}"
        @lock = Mutex.new
        @socket = nil
        @address = nil
        @pid = nil
        @retry_at = nil
        @sent_datagrams = 0
        @dropped_datagrams = 0
      end

      # Tags as DogStatsD wants them ("key:value" Strings) from an Array of Strings,
      # a Hash, or a comma-separated String.
      def self.normalize_tags(tags)
        list =
          case tags
          when nil then []
          when Hash then tags.map { |key, value| value.nil? ? key.to_s : "#{key}:#{value}" }
          when String then tags.split(",")
          else Array(tags).map(&:to_s)
          end
        list.map { |tag| tag.strip.tr(",|", "__") }.reject(&:empty?).freeze
      end

      def increment(name, tags: nil)
        count(name, 1, tags: tags)
      end

      def count(name, value, tags: nil)
        emit(name, value, "c", tags)
      end

      def gauge(name, value, tags: nil)
        emit(name, value, "g", tags)
      end

      def histogram(name, value, tags: nil)
        emit(name, value, "h", tags)
      end

      def distribution(name, value, tags: nil)
        emit(name, value, "d", tags)
      end

      # A duration in milliseconds.
      def timing(name, milliseconds, tags: nil)
        emit(name, milliseconds, "ms", tags)
      end

      # Metrics emitted inside the block (on this thread) leave as few datagrams
      # as fit, when the block ends. Nested calls join the outer batch.
      def batch
        return yield if Thread.current[@batch_key]

        lines = Thread.current[@batch_key] = []
        begin
          yield
        ensure
          Thread.current[@batch_key] = nil
          flush_lines(lines)
        end
      end

      # One DogStatsD line; public so specs and callers can see the exact format.
      def format_line(name, value, type, tags = nil)
        line = +"#{@prefix}#{sanitize_name(name)}:#{format_value(value)}|#{type}"
        all_tags = tags.nil? || tags.empty? ? @tags : @tags + tags.map { |tag| tag.to_s.tr(",|", "__") }
        line << "|#" << all_tags.join(",") unless all_tags.empty?
        line
      end

      def close
        @lock.synchronize { close_socket }
        nil
      end

      private

      def emit(name, value, type, tags)
        line = format_line(name, value, type, tags)
        lines = Thread.current[@batch_key]
        if lines
          lines << line
        else
          send_datagram(line)
        end
        nil
      end

      def flush_lines(lines)
        datagram = +""
        lines.each do |line|
          if !datagram.empty? && datagram.bytesize + 1 + line.bytesize > @max_datagram_bytes
            send_datagram(datagram)
            datagram = +""
          end
          datagram << "\n" unless datagram.empty?
          datagram << line
        end
        send_datagram(datagram) unless datagram.empty?
      end

      def send_datagram(datagram)
        @lock.synchronize do
          socket = current_socket
          if socket && socket.sendmsg_nonblock(datagram, 0, exception: false) != :wait_writable
            @sent_datagrams += 1
          else
            # No socket yet, or the agent's receive buffer is full: drop.
            @dropped_datagrams += 1
          end
        rescue Errno::ECONNREFUSED
          # UDP: an earlier datagram hit a closed port (ICMP); the socket is fine.
          # Unix socket: the agent went away; its path may come back, so reopen.
          @dropped_datagrams += 1
          give_up_socket(@retry_interval) if @socket_path
        rescue IOError, SystemCallError
          @dropped_datagrams += 1
          give_up_socket(@retry_interval)
        end
      end

      # Opens the socket on first use, after a fork, or once the retry delay passed.
      def current_socket
        close_socket if @socket && @pid != Process.pid
        return @socket if @socket
        return nil if @retry_at && Process.clock_gettime(Process::CLOCK_MONOTONIC) < @retry_at

        @socket = open_socket
        @pid = Process.pid
        @retry_at = nil
        @socket
      rescue SocketError
        give_up_socket(RESOLVE_RETRY_INTERVAL)
        nil
      rescue StandardError # e.g. a socket path too long for sockaddr_un
        give_up_socket(@retry_interval)
        nil
      end

      def open_socket
        if @socket_path
          socket = Socket.new(:UNIX, :DGRAM)
          connect(socket, Socket.sockaddr_un(@socket_path))
        else
          @address ||= resolve
          socket = Socket.new(@address.afamily, :DGRAM)
          connect(socket, @address)
        end
      end

      # The agent listens on IPv4 by default, while "localhost" often resolves to
      # ::1 first; a UDP connect cannot tell which one is served.
      def resolve
        addresses = Addrinfo.getaddrinfo(@host, @port, nil, :DGRAM)
        addresses.find(&:ipv4?) || addresses.first
      end

      def connect(socket, address)
        socket.connect(address)
        socket
      rescue StandardError
        socket.close
        raise
      end

      def give_up_socket(delay)
        close_socket
        @retry_at = Process.clock_gettime(Process::CLOCK_MONOTONIC) + delay
      end

      def close_socket
        @socket&.close
      rescue IOError, SystemCallError
        nil
      ensure
        @socket = nil
      end

      # ':', '|' and '@' separate the parts of a line; they cannot be in a name.
      def sanitize_name(name)
        name.to_s.tr(":|@", "___")
      end

      def format_value(value)
        value.is_a?(Float) ? value.round(3).to_s : value.to_s
      end
    end
  end
end
