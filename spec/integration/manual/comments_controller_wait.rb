# frozen_string_literal: true

# Manual, "Standalone Producer", third example; the missing comma after
# `comment_id: @comment.id` added and `comment` fixed to `@comment`. The values
# are passed positionally, as the manual does.
# app/controllers/comments_controller.rb
class CommentsController < ApplicationController
  def create
    @comment = Comment.create!(params)

    event = {
      name: "comment_created",
      data: {
        comment_id: @comment.id,
        user_id: current_user.id
      }
    }

    # This will queue the two messages in the internal buffer and block server process until they are delivered.
    Racecar.wait_for_delivery do
      Racecar.produce_async(@comment.to_json, topic: "comments")
      Racecar.produce_async(event.to_json, topic: "activity")
    end
  end
end
