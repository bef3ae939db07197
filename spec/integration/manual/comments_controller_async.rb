# frozen_string_literal: true

# Manual, "Standalone Producer", second example.
# app/controllers/comments_controller.rb
class CommentsController < ApplicationController
  def show
    @comment = Comment.find(params[:id])

    event = {
      name: "comment_viewed",
      data: {
        comment_id: @comment.id,
        user_id: current_user.id
      }
    }

    # By delivering messages asynchronously you free up your server processes faster.
    Racecar.produce_async(value: event.to_json, topic: "activity")
  end
end
