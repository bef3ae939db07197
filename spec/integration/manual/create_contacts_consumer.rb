# frozen_string_literal: true

# Manual, "Testing consumers" (Contact stands in for the model; the spec half
# of the example is in manual_examples_spec.rb).
# app/consumers/create_contacts_consumer.rb
#
# Creates a Contact whenever an email address is written to the
# `email-addresses` topic.
class CreateContactsConsumer < Racecar::Consumer
  subscribes_to "email-addresses"

  def process(message)
    email = message.value

    Contact.create!(email: email)
  end
end
