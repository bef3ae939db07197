# frozen_string_literal: true

module Bench
  # Collects benchmark results and prints them as an aligned text table, with
  # each racecar figure divided by the C ceiling measured in the same run.
  class Table
    Row = Struct.new(:scenario, :partitions, :rate, :ceiling, :target, :peak_rss_kb, keyword_init: true) do
      def ratio
        ceiling && ceiling.positive? ? rate / ceiling : nil
      end

      def verdict
        return "" unless target && ratio

        ratio >= target ? "ok" : "BELOW"
      end
    end

    HEADINGS = ["scenario", "partitions", "msgs/s", "ratio", "target", "", "peak RSS"].freeze

    def initialize(title)
      @title = title
      @rows = []
    end

    def add(**fields)
      @rows << Row.new(**fields)
    end

    def empty?
      @rows.empty?
    end

    def to_s
      cells = @rows.map do |row|
        [row.scenario, row.partitions.to_s, delimit(row.rate.round), row.ratio ? format("%.2f", row.ratio) : "-",
         row.target ? format(">= %.2f", row.target) : "", row.verdict, megabytes(row.peak_rss_kb)]
      end
      widths = HEADINGS.each_index.map { |i| ([HEADINGS[i]] + cells.map { |c| c[i] }).map(&:length).max }
      lines = [@title, line(HEADINGS, widths), line(widths.map { |w| "-" * w }, widths)]
      lines.concat(cells.map { |c| line(c, widths) })
      lines.join("\n")
    end

    private

    # Scenario left-aligned, figures right-aligned.
    def line(cells, widths)
      cells.each_with_index.map { |cell, i| i.zero? || i == 5 ? cell.ljust(widths[i]) : cell.rjust(widths[i]) }
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
