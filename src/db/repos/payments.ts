import { and, desc, eq } from 'drizzle-orm';
import type { ConversationRef } from '../../core/platform.js';
import type { Db } from '../client.js';
import { payments } from '../schema.js';

type RawPaymentRow = typeof payments.$inferSelect;

export interface PaymentRow extends Omit<RawPaymentRow, 'conversation'> {
  conversation: ConversationRef | null;
}

export type NewPayment = Omit<typeof payments.$inferInsert, 'conversation'> & {
  conversation?: ConversationRef | null;
};

const toRow = (r: RawPaymentRow): PaymentRow => r as PaymentRow;

export class PaymentsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Inserts a payment unless one with the same Stripe checkout session, Stripe event or
   * Telegram charge exists; returns the new row, or undefined for a repeat.
   */
  async insertOnce(payment: NewPayment): Promise<PaymentRow | undefined> {
    const [row] = await this.db.insert(payments).values(payment).onConflictDoNothing().returning();
    return row && toRow(row);
  }

  /**
   * Moves a pending checkout to paid; returns the row only for the one caller that made the
   * change, so the grant that follows happens once however many events report the payment.
   */
  async markPaidOnce(
    checkoutSessionId: string,
    patch: Partial<
      Pick<
        PaymentRow,
        'stripeEventId' | 'stripePaymentIntentId' | 'stripeSubscriptionId' | 'amount' | 'currency'
      >
    >,
  ): Promise<PaymentRow | undefined> {
    const now = new Date();
    const [row] = await this.db
      .update(payments)
      .set({ ...patch, status: 'paid', grantedAt: now, updatedAt: now })
      .where(and(eq(payments.stripeCheckoutSessionId, checkoutSessionId), eq(payments.status, 'pending')))
      .returning();
    return row && toRow(row);
  }

  /**
   * Marks a pending checkout whose payment does not match the order (`mismatch`: nothing is
   * granted); returns the row only for the one caller that made the change.
   */
  async markMismatchOnce(
    checkoutSessionId: string,
    patch: Partial<Pick<PaymentRow, 'stripeEventId' | 'stripePaymentIntentId' | 'stripeSubscriptionId'>>,
  ): Promise<PaymentRow | undefined> {
    const [row] = await this.db
      .update(payments)
      .set({ ...patch, status: 'mismatch', updatedAt: new Date() })
      .where(and(eq(payments.stripeCheckoutSessionId, checkoutSessionId), eq(payments.status, 'pending')))
      .returning();
    return row && toRow(row);
  }

  async findByCheckoutSession(id: string): Promise<PaymentRow | undefined> {
    const [row] = await this.db.select().from(payments).where(eq(payments.stripeCheckoutSessionId, id));
    return row && toRow(row);
  }

  async findByPaymentIntent(id: string): Promise<PaymentRow | undefined> {
    const [row] = await this.db.select().from(payments).where(eq(payments.stripePaymentIntentId, id));
    return row && toRow(row);
  }

  async findByTelegramCharge(id: string): Promise<PaymentRow | undefined> {
    const [row] = await this.db.select().from(payments).where(eq(payments.telegramChargeId, id));
    return row && toRow(row);
  }

  async listByUser(userId: string): Promise<PaymentRow[]> {
    const rows = await this.db
      .select()
      .from(payments)
      .where(eq(payments.userId, userId))
      .orderBy(desc(payments.createdAt));
    return rows.map(toRow);
  }

  /** The newest payment that recorded where it was made: where to tell the person about their plan. */
  async latestWithConversation(userId: string): Promise<PaymentRow | undefined> {
    const rows = await this.listByUser(userId);
    return rows.find((r) => r.conversation !== null);
  }

  async update(id: string, patch: Partial<Omit<PaymentRow, 'id'>>): Promise<void> {
    await this.db
      .update(payments)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(payments.id, id));
  }
}
