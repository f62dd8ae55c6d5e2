'use strict';
module.exports = (name) => `bye ${name}`;
