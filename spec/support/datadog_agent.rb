# frozen_string_literal: true

require "io/wait"
require "socket"
require "tmpdir"

# A stand-in for the Datadog agent's receiving end in specs: a real UDP socket on
# loopback or a real Unix datagram socket, with a parser for DogStatsD lines.
class DatadogAgent
  Metric = Struct.new(:name, :value, :type, :tags, keyword_init: true) do
    def tag(key)
      tags.find { |tag| tag.start_with?("#{key}:") }&.split(":", 2)&.last
    end
  end

  def self.udp
    socket = UDPSocket.new
    socket.bind("127.0.0.1", 0)
    new(socket)
  end

  def self.unix(path)
    socket = Socket.new(:UNIX, :DGRAM)
    socket.bind(Socket.sockaddr_un(path))
    new(socket)
  end

  # A UDP port on which nothing listens (bound, then released).
  def self.free_udp_port
    socket = UDPSocket.new
    socket.bind("127.0.0.1", 0)
    socket.addr[1]
  ensure
    socket&.close
  end

  def self.parse(line)
    head, type, tag_part = line.split("|", 3)
    name, value = head.split(":", 2)
    tags = tag_part ? tag_part.delete_prefix("#").split(",") : []
    Metric.new(name: name, value: value.include?(".") ? Float(value) : Integer(value), type: type, tags: tags)
  end

  attr_reader :socket

  def initialize(socket)
    @socket = socket
  end

  def port
    @socket.local_address.ip_port
  end

  # Raw datagrams, until `count` arrived or `timeout` seconds passed.
  def datagrams(count: 1, timeout: 2)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    received = []
    while received.size < count
      remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      break if remaining <= 0 || !@socket.wait_readable(remaining)

      received << @socket.recv(65_536)
    end
    received
  end

  # The metrics in the next `datagrams` datagrams (fewer if `timeout` passes first).
  def metrics(datagrams: 1, timeout: 2)
    datagrams(count: datagrams, timeout: timeout).flat_map do |datagram|
      datagram.split("\n").map { |line| self.class.parse(line) }
    end
  end

  def close
    @socket.close unless @socket.closed?
  end
end
