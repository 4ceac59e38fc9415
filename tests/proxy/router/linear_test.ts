import { compileLinearRouter } from "../../../src/proxy/router/linear.ts";
import { routerContract } from "./contract.ts";

routerContract("compileLinearRouter", compileLinearRouter);
