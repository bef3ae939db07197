# frozen_string_literal: true

module Bench
  # Collects benchmark results and prints them as an aligned text table, with
  # each racecar figure divided by the C ceiling measured in the same round.
  #
  # A row holds one measurement per round, each with the ceiling of its own
  # round. The machine is shared, so the ceiling drifts between rounds as much
  # as racecar does; a ratio is only meaningful against a ceiling measured
  # minutes, not an hour, apart. The row shows the median rate and the median
  # of its per-round ratios, and the lowest and highest ratio when there was
  # more than one round.
  class Table
    Row = Struct.new(:scenario, :partitions, :rates, :ceilings, :target, :peak_rss_kb, keyword_init: true) do
      def rate
        Table.median(rates)
      end

      def ratios
        return [] unless ceilings

        rates.zip(ceilings).map { |rate, ceiling| ceiling.positive? ? rate / ceiling : 0.0 }
      end

      def ratio
        ratios.empty? ? nil : Table.median(ratios)
      end

      def spread
        return "" if ratios.size < 2

        format("%.2f-%.2f", ratios.min, ratios.max)
      end

      def verdict
        return "" unless target && ratio

        ratio >= target ? "ok" : "BELOW"
      end
    end

    HEADINGS = ["scenario", "partitions", "msgs/s", "ratio", "range", "target", "", "peak RSS"].freeze
    LEFT_ALIGNED = [0, 6].freeze

    def self.median(values)
      sorted = values.sort
      middle = sorted.size / 2
      sorted.size.odd? ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2.0
    end

    def initialize(title)
      @title = title
      @rows = []
    end

    # rate / ceiling: one figure (a single round), or one per round, in the
    # same order. peak_rss_kb: the highest of the rounds.
    def add(scenario:, partitions:, rate:, ceiling: nil, target: nil, peak_rss_kb: nil)
      rates = Array(rate).map(&:to_f)
      ceilings = ceiling && Array(ceiling).map(&:to_f)
      raise ArgumentError, "#{scenario}: #{rates.size} rates for #{ceilings.size} ceilings" if ceilings && ceilings.size != rates.size

      @rows << Row.new(scenario: scenario, partitions: partitions, rates: rates, ceilings: ceilings, target: target,
                       peak_rss_kb: Array(peak_rss_kb).compact.max)
    end

    def empty?
      @rows.empty?
    end

    def to_s
      cells = @rows.map do |row|
        [row.scenario, row.partitions.to_s, delimit(row.rate.round), row.ratio ? format("%.2f", row.ratio) : "-",
         row.spread, row.target ? format(">= %.2f", row.target) : "", row.verdict, megabytes(row.peak_rss_kb)]
      end
      widths = HEADINGS.each_index.map { |i| ([HEADINGS[i]] + cells.map { |c| c[i] }).map(&:length).max }
      lines = [@title, line(HEADINGS, widths), line(widths.map { |w| "-" * w }, widths)]
      lines.concat(cells.map { |c| line(c, widths) })
      lines.join("\n")
    end

    private

    # Scenario and verdict left-aligned, figures right-aligned.
    def line(cells, widths)
      cells.each_with_index.map { |cell, i| LEFT_ALIGNED.include?(i) ? cell.ljust(widths[i]) : cell.rjust(widths[i]) }
           .join("  ").rstrip
    end

    def delimit(number)
      number.to_s.reverse.scan(/\d{1,3}/).join(",").reverse
    end

    def megabytes(kilobytes)
      kilobytes ? format("%.0f MB", kilobytes / 1024.0) : ""
    end
  end
end
