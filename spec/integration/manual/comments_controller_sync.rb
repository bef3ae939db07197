# frozen_string_literal: true

# Manual, "Standalone Producer", first example; `comment` fixed to `@comment`.
# app/controllers/comments_controller.rb
class CommentsController < ApplicationController
  def create
    @comment = Comment.create!(params)

    # This will publish a JSON representation of the comment to the `comments` topic
    # in Kafka. Make sure to create the topic first, or this may fail.
    Racecar.produce_sync(value:@comment.to_json, topic: "comments")
  end
end
