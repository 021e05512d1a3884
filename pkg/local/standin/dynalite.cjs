// Starts dynalite with one correction: DynamoDB answers a conditional write that fails
// with ReturnValuesOnConditionCheckFailure ALL_OLD by putting the stored item in the
// ConditionalCheckFailedException's body ("Item"), which the SDK exposes as
// ConditionalCheckFailedException.Item. dynalite 4.0.0 accepts the parameter and
// ignores it; the store relies on it (a refused claim tells a duplicate from a busy
// delivery without a second read), so the stand-in must answer as DynamoDB does.
// The patch declares the parameter to dynalite's request checks (which drop what they
// do not know) and wraps its condition check, which its PutItem, UpdateItem and
// DeleteItem all call, before its command line starts the server.
"use strict";

const db = require("dynalite/db");

for (const action of ["putItem", "updateItem", "deleteItem"]) {
  require(`dynalite/validations/${action}`).types.ReturnValuesOnConditionCheckFailure = {
    type: "String",
    enum: ["ALL_OLD", "NONE"],
  };
}

const checkConditional = db.checkConditional;
db.checkConditional = function (data, existingItem) {
  const err = checkConditional(data, existingItem);
  if (err && err.body && existingItem && data.ReturnValuesOnConditionCheckFailure === "ALL_OLD") {
    err.body.Item = existingItem;
  }
  return err;
};

require("dynalite/cli.js");
