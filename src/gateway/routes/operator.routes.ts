import { Router } from 'express';
import { AppError } from '../../shared/errors.ts';
import { bearerToken } from '../auth.ts';
import { contextOf, param } from '../http.ts';
import { OPERATOR_COMMANDS, type OperatorCommandName, type OperatorCommands } from '../operator/commands.ts';
import { tokenMatches } from '../../shared/operator-credential.ts';

/**
 * `POST /api/v1/operator/{command}`: the CLI's way in while this process holds
 * the embedded database. Only the token written to DATA_DIR/operator.json opens it.
 */
export function createOperatorRoutes({ commands, token }: { commands: OperatorCommands; token: string }): Router {
  const router = Router();
  router.post('/operator/:command', async (req, res) => {
    const presented = bearerToken(req.get('authorization'));
    if (!presented || !tokenMatches(token, presented)) {
      throw new AppError('unauthorized', 'the operator token is missing or wrong');
    }
    const name = param(req, 'command');
    if (!OPERATOR_COMMANDS.includes(name as OperatorCommandName)) throw new AppError('not_found', `unknown command ${name}`);
    const result = await commands.run(name as OperatorCommandName, req.body ?? {}, contextOf(req, res));
    res.json(result);
  });
  return router;
}
